"""A small raw EWS client for the tests: builds requests that validate against Microsoft's schema,
posts them with http.client (keep-alive, optional gzip and TLS), and parses the answers."""

import base64
import gzip
import http.client
import ssl
import xml.etree.ElementTree as ET

NS_S = "http://schemas.xmlsoap.org/soap/envelope/"
NS_M = "http://schemas.microsoft.com/exchange/services/2006/messages"
NS_T = "http://schemas.microsoft.com/exchange/services/2006/types"
M, T, S = "{%s}" % NS_M, "{%s}" % NS_T, "{%s}" % NS_S


def envelope(body, version="Exchange2016", impersonate=None):
    head = '<t:RequestServerVersion Version="%s"/>' % version
    if impersonate:
        head += ("<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>%s</t:PrimarySmtpAddress>"
                 "</t:ConnectingSID></t:ExchangeImpersonation>" % impersonate)
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s" xmlns:m="%s" xmlns:t="%s">'
            "<soap:Header>%s</soap:Header><soap:Body>%s</soap:Body></soap:Envelope>" % (NS_S, NS_M, NS_T, head, body))


def props(fields=(), tags=()):
    if not fields and not tags:
        return ""
    out = ["<t:AdditionalProperties>"]
    out += ['<t:FieldURI FieldURI="%s"/>' % f for f in fields]
    out += ['<t:ExtendedFieldURI PropertyTag="%s" PropertyType="%s"/>' % t for t in tags]
    out.append("</t:AdditionalProperties>")
    return "".join(out)


def folder_ref(f, mailbox=None):
    """f is a distinguished name or ('id', value)."""
    if isinstance(f, tuple):
        return '<t:FolderId Id="%s"/>' % f[1]
    mb = "<t:Mailbox><t:EmailAddress>%s</t:EmailAddress></t:Mailbox>" % mailbox if mailbox else ""
    return '<t:DistinguishedFolderId Id="%s">%s</t:DistinguishedFolderId>' % (f, mb)


def get_folder(folders, base="AllProperties", fields=(), tags=(), mailbox=None):
    return ("<m:GetFolder><m:FolderShape><t:BaseShape>%s</t:BaseShape>%s</m:FolderShape><m:FolderIds>%s"
            "</m:FolderIds></m:GetFolder>" % (base, props(fields, tags), "".join(folder_ref(f, mailbox) for f in folders)))


def find_folder(parent, traversal="Deep", base="IdOnly", fields=(), tags=(), offset=None, maxn=None):
    view = ('<m:IndexedPageFolderView MaxEntriesReturned="%d" Offset="%d" BasePoint="Beginning"/>' % (maxn, offset)
            if maxn is not None else "")
    return ('<m:FindFolder Traversal="%s"><m:FolderShape><t:BaseShape>%s</t:BaseShape>%s</m:FolderShape>%s'
            "<m:ParentFolderIds>%s</m:ParentFolderIds></m:FindFolder>" % (traversal, base, props(fields, tags), view,
                                                                          folder_ref(parent)))


def sync_hierarchy(base="IdOnly", fields=(), state=None):
    return ("<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>%s</t:BaseShape>%s</m:FolderShape>%s"
            "</m:SyncFolderHierarchy>" % (base, props(fields), "<m:SyncState>%s</m:SyncState>" % state if state else ""))


def find_item(parent, traversal="Shallow", base="IdOnly", fields=(), tags=(), offset=None, maxn=None,
              restriction="", sort="", base_point="Beginning"):
    view = ('<m:IndexedPageItemView MaxEntriesReturned="%d" Offset="%d" BasePoint="%s"/>' % (maxn, offset, base_point)
            if maxn is not None else "")
    return ('<m:FindItem Traversal="%s"><m:ItemShape><t:BaseShape>%s</t:BaseShape>%s</m:ItemShape>%s%s%s'
            "<m:ParentFolderIds>%s</m:ParentFolderIds></m:FindItem>" % (
                traversal, base, props(fields, tags), view,
                "<m:Restriction>%s</m:Restriction>" % restriction if restriction else "",
                "<m:SortOrder>%s</m:SortOrder>" % sort if sort else "", folder_ref(parent)))


def sync_items(folder, maxn, state=None, base="IdOnly", fields=(), tags=(), scope=None):
    return ("<m:SyncFolderItems><m:ItemShape><t:BaseShape>%s</t:BaseShape>%s</m:ItemShape><m:SyncFolderId>%s"
            "</m:SyncFolderId>%s<m:MaxChangesReturned>%d</m:MaxChangesReturned>%s</m:SyncFolderItems>" % (
                base, props(fields, tags), folder_ref(folder),
                "<m:SyncState>%s</m:SyncState>" % state if state else "", maxn,
                "<m:SyncScope>%s</m:SyncScope>" % scope if scope else ""))


def get_item(ids, base="IdOnly", fields=(), tags=()):
    return ("<m:GetItem><m:ItemShape><t:BaseShape>%s</t:BaseShape>%s</m:ItemShape><m:ItemIds>%s</m:ItemIds>"
            "</m:GetItem>" % (base, props(fields, tags), "".join('<t:ItemId Id="%s"/>' % i for i in ids)))


class Client:
    def __init__(self, port, user=None, password=None, token=None, tls_ctx=None, gzip_ok=False, host="127.0.0.1"):
        self.port, self.host, self.tls_ctx = port, host, tls_ctx
        self.auth = None
        if token:
            self.auth = "Bearer " + token
        elif user is not None:
            self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.gzip_ok = gzip_ok
        self.conn = None

    def _connect(self):
        if self.tls_ctx is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=30, context=self.tls_ctx)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def raw(self, data, headers=None, path="/EWS/Exchange.asmx", method="POST"):
        """Returns (status, headers dict lower-cased, body bytes decoded from gzip)."""
        if self.conn is None:
            self.conn = self._connect()
        h = {"Content-Type": "text/xml; charset=utf-8"}
        if self.auth:
            h["Authorization"] = self.auth
        if self.gzip_ok:
            h["Accept-Encoding"] = "gzip"
        h.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            body = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        if r.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if r.getheader("Connection", "").lower() == "close" or r.will_close:
            self.conn.close()
            self.conn = None
        return r.status, hdrs, body

    def call(self, body, impersonate=None, headers=None):
        req = envelope(body, impersonate=impersonate).encode()
        status, hdrs, data = self.raw(req, headers)
        root = ET.fromstring(data) if data else None
        return status, root, data, req

    def close(self):
        if self.conn:
            self.conn.close()


def messages(root):
    """The m:*ResponseMessage elements of a response."""
    rm = root.find(".//" + M + "ResponseMessages")
    return list(rm) if rm is not None else []


def code(msg):
    return msg.findtext(M + "ResponseCode")


def fault_code(root):
    f = root.find(".//" + S + "Fault")
    if f is None:
        return None
    return f.find("detail").findtext("{http://schemas.microsoft.com/exchange/services/2006/errors}ResponseCode")


def decode_key(ews_id):
    """The 22-byte source key at the end of an EWS id's entry id (see docs/TEST_SERVER.md)."""
    raw = base64.b64decode(ews_id)
    glen = int.from_bytes(raw[2:4], "little")
    eid = raw[4 + glen + 3:]
    return (eid[22:44] if len(eid) == 46 else eid[46:68]).hex()


def insecure_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
