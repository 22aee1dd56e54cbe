"""Graph error responses: {"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}, and the codes and messages the server answers with (docs/GRAPH_SERVER.md,
"Errors")."""

import json
import time


class GraphError(Exception):
    """A request that fails as a whole: HTTP status, Graph error code, message, extra headers."""

    def __init__(self, status, code, message, headers=(), fault=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = list(headers)
        self.fault = fault


def body(code, message, request_id, client_request_id):
    inner = {"date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "request-id": request_id,
             "client-request-id": client_request_id}
    return json.dumps({"error": {"code": code, "message": message, "innerError": inner}}).encode("utf-8")


def bad_request(message, code="BadRequest"):
    return GraphError(400, code, message)


def not_found_segment(seg):
    return GraphError(400, "BadRequest", "Resource not found for the segment '%s'." % seg[:200])


def item_not_found():
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_id():
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def invalid_user(who):
    return GraphError(404, "ErrorInvalidUser", "The requested user '%s' is invalid." % who[:200])


def access_denied():
    return GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def directory_denied():
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def token_missing():
    return GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")


def token_invalid():
    return GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")


def token_expired():
    return GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")


def sync_state_gone(gen, highest):
    return GraphError(410, "SyncStateNotFound",
                      "The sync state generation is not found; generation=%d;[highest=%d]." % (gen, highest))


def sync_state_invalid():
    return GraphError(400, "ErrorInvalidSyncStateData",
                      "The sync state data is corrupt or otherwise invalid.")
