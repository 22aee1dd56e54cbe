"""EWS operations of the test server: request parsing, access rules, and one short function per
operation (GetFolder, FindFolder, SyncFolderHierarchy, FindItem, SyncFolderItems, GetItem,
ConvertId). Everything here is read-only over the loaded mailboxes."""

import xml.etree.ElementTree as ET

import mailbox as mb
import query as Q
import xmlout as X
from xmlout import SoapFault, schema_error

M = "{%s}" % X.NS_M
T = "{%s}" % X.NS_T
S = "{%s}" % X.NS_SOAP

IMPLEMENTED = ("GetFolder", "FindFolder", "SyncFolderHierarchy", "FindItem", "SyncFolderItems",
               "GetItem", "ConvertId")
# Real EWS operations this read-only test server does not implement (answered ErrorInvalidRequest).
KNOWN_OTHER = frozenset("""CreateItem UpdateItem DeleteItem MoveItem CopyItem SendItem ArchiveItem
CreateFolder UpdateFolder DeleteFolder MoveFolder CopyFolder EmptyFolder CreateFolderPath
FindConversation GetConversationItems ResolveNames ExpandDL GetAttachment CreateAttachment
DeleteAttachment Subscribe Unsubscribe GetEvents GetStreamingEvents GetUserAvailability
GetUserOofSettings SetUserOofSettings GetServerTimeZones GetRoomLists GetRooms GetDelegate
GetMailTips GetUserConfiguration GetInboxRules UpdateInboxRules ExportItems UploadItems
MarkAsJunk FindPeople GetPersona GetSearchableMailboxes GetUserPhoto GetAppManifests
GetSharingMetadata GetPasswordExpirationDate MarkAllItemsAsRead GetNonIndexableItemStatistics
FindMailboxStatisticsByKeywords SearchMailboxes GetDiscoverySearchConfiguration""".split())

SERVER_VERSIONS = frozenset("""Exchange2007 Exchange2007_SP1 Exchange2009 Exchange2010 Exchange2010_SP1
Exchange2010_SP2 Exchange2012 Exchange2013 Exchange2013_SP1 Exchange2015 Exchange2016 V2015_10_05
V2016_01_06 V2016_04_13 V2016_07_13 V2016_10_10 V2017_01_07 V2017_04_14 V2017_07_11""".split())

SYNC_MAX = 512             # MaxSyncChangesReturnedType upper bound


class Request:
    """A parsed SOAP request."""
    __slots__ = ("op", "body", "version", "impersonate", "root")


def parse(data):
    """Parses the envelope; raises SoapFault for anything that is not a well-formed EWS request."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise schema_error("DTDs are not allowed in EWS requests.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, pos = getattr(e, "position", (0, 0))
        raise SoapFault("ErrorSchemaValidation", str(e), X.schema_fault("The request is not well-formed XML: %s" % e, line, pos)) from None
    except (LookupError, ValueError, UnicodeError) as e:      # e.g. an unknown encoding declaration
        raise schema_error("The request cannot be read: %s" % e) from None
    if root.tag != S + "Envelope":
        raise SoapFault("ErrorInvalidRequest", "The request is not a SOAP 1.1 envelope.")
    header = root.find(S + "Header")
    body = root.find(S + "Body")
    if body is None or len(body) == 0:
        raise SoapFault("ErrorInvalidRequest", "The request has no SOAP body.")
    if len(body) > 1:
        raise schema_error("The SOAP body holds more than one element.")
    req = Request()
    req.root = root
    req.body = body[0]
    req.version = "Exchange2007"
    req.impersonate = None
    if header is not None:
        rsv = header.find(T + "RequestServerVersion")
        if rsv is not None:
            v = rsv.get("Version")
            if v not in SERVER_VERSIONS:
                raise schema_error("The 'Version' attribute is invalid - The value '%s' is invalid according to its datatype 'ExchangeVersionType'." % v)
            req.version = v
        imp = header.find(T + "ExchangeImpersonation")
        if imp is not None:
            sid = imp.find(T + "ConnectingSID")
            if sid is None or len(sid) != 1 or not (sid[0].text or "").strip():
                raise SoapFault("ErrorInvalidExchangeImpersonationHeaderData",
                                "The ExchangeImpersonation SOAP header must contain a ConnectingSID with one identifier.")
            kind = sid[0].tag.replace(T, "")
            if kind not in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName", "SID"):
                raise schema_error("The element 'ConnectingSID' has invalid child element '%s'." % kind)
            req.impersonate = (kind, sid[0].text.strip())
    tag = req.body.tag
    if not tag.startswith(M):
        raise schema_error("The element '%s' is not an EWS operation." % tag)
    req.op = tag[len(M):]
    return req


# ---- context ---------------------------------------------------------------------------------

class Context:
    """Who is asking and what they may reach. Built by the server for every request."""

    def __init__(self, state, user, req):
        self.state = state
        self.boxes = state.boxes
        self.by_guid = state.by_guid
        self.user = user
        self.mailbox = None          # the default mailbox (own, or the impersonated one)
        self.access = set()          # addresses (lower case) this request may read
        addr = (user.get("mailbox") or "").lower()
        if req.impersonate:
            kind, value = req.impersonate
            allowed = [a.lower() for a in user.get("impersonate", [])]
            target = self._find_user_mailbox(kind, value)
            if not allowed:
                raise SoapFault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.")
            if target is None:
                raise SoapFault("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")
            if "*" not in allowed and target.address.lower() not in allowed:
                raise SoapFault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.")
            self.mailbox = target
            self.access = {target.address.lower()}
        else:
            self.mailbox = self.boxes.get(addr)
            if self.mailbox is not None:
                self.access.add(addr)
            for d in user.get("delegate", []):
                self.access.add(d.lower())

    def _find_user_mailbox(self, kind, value):
        v = value.lower()
        if kind in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName"):
            return self.boxes.get(v)
        for m in self.boxes.values():   # SID: the users file may give one per mailbox user
            if self.state.sid_of.get(m.address.lower()) == value:
                return m
        return None

    def mailbox_for(self, address):
        """Returns (mailbox, None) or (None, (code, text))."""
        if address is None:
            if self.mailbox is None:
                return None, ("ErrorNonExistentMailbox", "The caller has no mailbox; name one in the request.")
            return self.mailbox, None
        m = self.boxes.get(address.lower())
        if m is None:
            return None, ("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")
        if address.lower() not in self.access:
            return None, ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return m, None


def _folder_error(code):
    return {"ErrorInternalServerError": "An internal server error occurred. The operation failed.",
            "ErrorMailboxMoveInProgress": "The mailbox is being moved; try again later.",
            "ErrorMailboxStoreUnavailable": "The mailbox database is temporarily unavailable.",
            "ErrorTimeoutExpired": "The operation timed out.",
            "ErrorCorruptData": "The folder's data is corrupt.",
            "ErrorItemNotFound": "The specified object was not found in the store.",
            "ErrorNoPublicFolderReplicaAvailable": "No public folder replica is available.",
            "ErrorFolderNotFound": "The specified folder could not be found in the store.",
            "ErrorAccessDenied": "Access is denied. Check credentials and try again.",
            "ErrorInvalidIdMalformed": "Id is malformed.",
            "ErrorCannotUseItemIdForFolderId": "Item Id cannot be used as a Folder Id."}[code]


def resolve_folder(ctx, el, content=True):
    """A t:FolderId or t:DistinguishedFolderId element -> (Folder, None) or (None, (code, text)).
    content=True also applies the per-folder access-denied fault."""
    name = el.tag.replace(T, "")
    if name == "FolderId":
        try:
            guid, kind, key = mb.decode_id(el.get("Id") or "")
        except ValueError:
            return None, ("ErrorInvalidIdMalformed", _folder_error("ErrorInvalidIdMalformed"))
        if kind != "folder":
            return None, ("ErrorCannotUseItemIdForFolderId", _folder_error("ErrorCannotUseItemIdForFolderId"))
        m = ctx.by_guid.get(guid)
        if m is None:
            return None, ("ErrorFolderNotFound", _folder_error("ErrorFolderNotFound"))
        if m.address.lower() not in ctx.access:
            return None, ("ErrorAccessDenied", _folder_error("ErrorAccessDenied"))
        fo = m.by_key.get(key)
        if not isinstance(fo, mb.Folder):
            return None, ("ErrorFolderNotFound", _folder_error("ErrorFolderNotFound"))
    elif name == "DistinguishedFolderId":
        did = el.get("Id")
        if did not in mb.DISTINGUISHED_NAMES:
            raise schema_error("The 'Id' attribute is invalid - The value '%s' is invalid according to its datatype 'DistinguishedFolderIdNameType'." % did)
        addr = el.findtext(T + "Mailbox/" + T + "EmailAddress")
        m, err = ctx.mailbox_for(addr.strip() if addr else None)
        if err:
            return None, err
        fo = m.by_role.get(did)
        if fo is None:
            return None, ("ErrorFolderNotFound", _folder_error("ErrorFolderNotFound"))
    else:
        raise schema_error("The element '%s' is not a folder id." % name)
    if content and fo in ctx.state.denied:
        code = ctx.state.denied[fo]
        return None, (code, _folder_error(code))
    return fo, None


def parse_shape(el, what):
    if el is None:
        raise schema_error("The element '%s' is missing its %s." % (what, what))
    base = el.findtext(T + "BaseShape")
    if base not in ("IdOnly", "Default", "AllProperties"):
        raise schema_error("The element 'BaseShape' has an invalid value '%s'." % base)
    fields, ext = set(), []
    props = el.find(T + "AdditionalProperties")
    if props is not None:
        for p in props:
            tag = p.tag.replace(T, "")
            if tag == "FieldURI":
                fields.add(p.get("FieldURI") or "")
            elif tag == "ExtendedFieldURI":
                ptype = p.get("PropertyType")
                if not ptype:
                    raise schema_error("The required attribute 'PropertyType' is missing.")
                ptag = p.get("PropertyTag")
                if ptag is None:
                    continue          # named properties: this mailbox model has none
                try:
                    num = int(ptag, 16) if ptag.lower().startswith("0x") else int(ptag)
                except ValueError:
                    raise schema_error("The 'PropertyTag' attribute is invalid: '%s'." % ptag) from None
                if not 0 <= num <= 0xFFFF:
                    raise SoapFault("ErrorInvalidPropertyRequest", "The property tag %s is out of range." % ptag)
                ext.append((num, ptype, "0x%x" % num))
            elif tag == "IndexedFieldURI":
                continue              # e.g. contacts:EmailAddress; never set on this model
            else:
                raise schema_error("The element 'AdditionalProperties' has invalid child element '%s'." % tag)
    return X.Shape(base, fields, ext)


def _children(el, tag):
    c = el.find(M + tag)
    if c is None:
        raise schema_error("The element '%s' is missing its child '%s'." % (el.tag.replace(M, ""), tag))
    return list(c)


# ---- operations ------------------------------------------------------------------------------

def op_GetFolder(ctx, body, counters):
    shape = parse_shape(body.find(M + "FolderShape"), "FolderShape")
    msgs = []
    for el in _children(body, "FolderIds"):
        fo, err = resolve_folder(ctx, el)
        if err:
            msgs.append(X.message_error("GetFolder", err[0], err[1]))
            continue
        out = ["<m:Folders>"]
        X.write_folder(fo, mb.folder_element(fo), shape, out, _dname(fo))
        out.append("</m:Folders>")
        msgs.append(X.message_ok("GetFolder", "".join(out)))
        counters["folders"] += 1
    return X.response("GetFolder", msgs)


def _dname(fo):
    return fo.role if fo.role in mb.DISTINGUISHED_NAMES and fo.mailbox.by_role.get(fo.role) is fo else None


def _subtree(fo):
    out, stack = [], list(reversed(fo.children))
    while stack:
        f = stack.pop()
        out.append(f)
        stack.extend(reversed(f.children))
    return out


def op_FindFolder(ctx, body, counters):
    traversal = body.get("Traversal")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):
        raise schema_error("The 'Traversal' attribute is invalid.")
    shape = parse_shape(body.find(M + "FolderShape"), "FolderShape")
    view = body.find(M + "IndexedPageFolderView")
    if view is None:
        view = body.find(M + "FractionalPageFolderView")
    restriction = body.find(M + "Restriction")
    pred = None
    if restriction is not None and len(restriction):
        try:
            pred = Q.compile_restriction(restriction[0], Q.FOLDER_FIELDS)
        except Q.Unsupported as e:
            return X.response("FindFolder", [X.message_error("FindFolder", "ErrorUnsupportedQueryFilter",
                                                             "This test server does not support the %s." % e)])
    msgs = []
    for el in _children(body, "ParentFolderIds"):
        fo, err = resolve_folder(ctx, el)
        if err:
            msgs.append(X.message_error("FindFolder", err[0], err[1]))
            continue
        herr = _hierarchy_error(ctx, [fo] + (_subtree(fo) if traversal == "Deep" else []))
        if herr:
            msgs.append(X.message_error("FindFolder", herr[0], herr[1]))
            continue
        if traversal == "SoftDeleted":
            found = []
        else:
            found = _subtree(fo) if traversal == "Deep" else list(fo.children)
        if pred:
            found = [f for f in found if pred(f)]
        total = len(found)
        start, end, perr = Q.page(view, total)
        if perr:
            msgs.append(X.message_error("FindFolder", perr[0], perr[1]))
            continue
        out = ["<m:RootFolder%s><t:Folders>" % Q.paging_attrs(view, start, end, total)]
        for f in found[start:end]:
            X.write_folder(f, mb.folder_element(f), shape, out, _dname(f))
        out.append("</t:Folders></m:RootFolder>")
        counters["folders"] += end - start
        msgs.append(X.message_ok("FindFolder", "".join(out)))
    return X.response("FindFolder", msgs)


def _hierarchy_error(ctx, folders):
    """(code, text) when listing these folders meets a --hierarchy-error folder, else None."""
    errs = ctx.state.hierarchy_errors
    for f in folders:
        if f in errs:
            return errs[f], _folder_error(errs[f])
    return None


def op_SyncFolderHierarchy(ctx, body, counters):
    shape = parse_shape(body.find(M + "FolderShape"), "FolderShape")
    sf = body.find(M + "SyncFolderId")
    if sf is not None and len(sf):
        top, err = resolve_folder(ctx, sf[0], content=False)
        if err:
            return X.response("SyncFolderHierarchy", [X.message_error("SyncFolderHierarchy", err[0], err[1])])
    else:
        top, err = ctx.mailbox_for(None)
        if err:
            return X.response("SyncFolderHierarchy", [X.message_error("SyncFolderHierarchy", err[0], err[1])])
        top = top.root
    mbx = top.mailbox
    folders = _subtree(top)
    herr = _hierarchy_error(ctx, [top] + folders)
    if herr:
        return X.response("SyncFolderHierarchy", [X.message_error("SyncFolderHierarchy", herr[0], herr[1])])
    state = (body.findtext(M + "SyncState") or "").strip()
    pos = 0
    if state:
        try:
            pos = mb.decode_sync_state(state, "H", mbx, top.key, 0)
        except ValueError as e:
            return X.response("SyncFolderHierarchy", [X.message_error(
                "SyncFolderHierarchy", "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid: %s." % e)])
    pos = min(pos, len(folders))
    out = ["<m:SyncState>%s</m:SyncState><m:IncludesLastFolderInRange>true</m:IncludesLastFolderInRange>"
           % mb.encode_sync_state("H", mbx, top.key, 0, len(folders))]
    if pos < len(folders):
        out.append("<m:Changes>")
        for f in folders[pos:]:
            out.append("<t:Create>")
            X.write_folder(f, mb.folder_element(f), shape, out, _dname(f))
            out.append("</t:Create>")
        out.append("</m:Changes>")
    else:
        out.append("<m:Changes/>")
    counters["folders"] += len(folders) - pos
    return X.response("SyncFolderHierarchy", [X.message_ok("SyncFolderHierarchy", "".join(out))])


def op_FindItem(ctx, body, counters):
    traversal = body.get("Traversal")
    if traversal not in ("Shallow", "SoftDeleted", "Associated"):
        raise schema_error("The 'Traversal' attribute is invalid.")
    shape = parse_shape(body.find(M + "ItemShape"), "ItemShape")
    view = None
    for name in ("IndexedPageItemView", "FractionalPageItemView", "SeekToConditionPageItemView",
                 "CalendarView", "ContactsView"):
        view = body.find(M + name)
        if view is not None:
            break
    restriction = body.find(M + "Restriction")
    pred = None
    msgs_err = None
    try:
        if restriction is not None and len(restriction):
            pred = Q.compile_restriction(restriction[0], Q.ITEM_FIELDS)
        if body.find(M + "GroupBy") is not None or body.find(M + "DistinguishedGroupBy") is not None:
            raise Q.Unsupported("grouping")
        if body.find(M + "QueryString") is not None:
            raise Q.Unsupported("QueryString (AQS search)")
    except Q.Unsupported as e:
        msgs_err = ("ErrorUnsupportedQueryFilter", "This test server does not support the %s." % e)
    sort_el = body.find(M + "SortOrder")
    msgs = []
    for el in _children(body, "ParentFolderIds"):
        fo, err = resolve_folder(ctx, el)
        if err or msgs_err:
            e = err or msgs_err
            msgs.append(X.message_error("FindItem", e[0], e[1]))
            continue
        if traversal == "Associated":
            found = fo.assoc
        elif traversal == "SoftDeleted":
            found = []
        else:
            found = fo.find_order
        if pred:
            found = [i for i in found if pred(i)]
        try:
            found = Q.apply_sort(found, sort_el, Q.ITEM_FIELDS)
        except Q.Unsupported as e:
            msgs.append(X.message_error("FindItem", "ErrorInvalidRequest",
                                        "This test server does not support the %s." % e))
            continue
        total = len(found)
        start, end, perr = Q.page(view, total)
        if perr:
            msgs.append(X.message_error("FindItem", perr[0], perr[1]))
            continue
        out = ["<m:RootFolder%s><t:Items>" % Q.paging_attrs(view, start, end, total)]
        X.write_items(found[start:end], shape, out)
        out.append("</t:Items></m:RootFolder>")
        counters["items"] += end - start
        msgs.append(X.message_ok("FindItem", out))
    return X.response("FindItem", msgs)


def op_SyncFolderItems(ctx, body, counters):
    shape = parse_shape(body.find(M + "ItemShape"), "ItemShape")
    sf = body.find(M + "SyncFolderId")
    if sf is None or len(sf) != 1:
        raise schema_error("The element 'SyncFolderItems' is missing its child 'SyncFolderId'.")
    mc = body.findtext(M + "MaxChangesReturned")
    try:
        maxn = int(mc)
    except (TypeError, ValueError):
        raise schema_error("The element 'MaxChangesReturned' is missing or not an integer.") from None
    if not 1 <= maxn <= SYNC_MAX:
        raise schema_error("The 'MaxChangesReturned' element is invalid - The value '%d' is invalid according to its datatype 'MaxSyncChangesReturnedType'." % maxn)
    scope_txt = body.findtext(M + "SyncScope") or "NormalItems"
    if scope_txt not in ("NormalItems", "NormalAndAssociatedItems"):
        raise schema_error("The 'SyncScope' element has an invalid value.")
    scope = 1 if scope_txt == "NormalAndAssociatedItems" else 0
    fo, err = resolve_folder(ctx, sf[0])
    if err:
        return X.response("SyncFolderItems", [X.message_error("SyncFolderItems", err[0], err[1])])
    ignore = set()
    ig = body.find(M + "Ignore")
    if ig is not None:
        for i in ig:
            try:
                ignore.add(mb.decode_id(i.get("Id") or "")[2])
            except ValueError:
                return X.response("SyncFolderItems", [X.message_error(
                    "SyncFolderItems", "ErrorInvalidIdMalformed", "Id is malformed.")])
    mbx = fo.mailbox
    seq = fo.items + fo.assoc if scope else fo.items
    state = (body.findtext(M + "SyncState") or "").strip()
    pos = 0
    if state:
        try:
            pos = mb.decode_sync_state(state, "I", mbx, fo.key, scope)
        except ValueError as e:
            return X.response("SyncFolderItems", [X.message_error(
                "SyncFolderItems", "ErrorInvalidSyncStateData",
                "Synchronization state data is corrupt or otherwise invalid: %s." % e)])
    pos = min(pos, len(seq))
    end = min(len(seq), pos + maxn)
    last = end >= len(seq)
    out = ["<m:SyncState>%s</m:SyncState><m:IncludesLastItemInRange>%s</m:IncludesLastItemInRange>"
           % (mb.encode_sync_state("I", mbx, fo.key, scope, end), "true" if last else "false")]
    batch = [it for it in seq[pos:end] if it.key not in ignore]
    if batch:
        out.append("<m:Changes>")
        X.write_items(batch, shape, out, "<t:Create>", "</t:Create>")
        out.append("</m:Changes>")
    else:
        out.append("<m:Changes/>")
    counters["items"] += len(batch)
    return X.response("SyncFolderItems", [X.message_ok("SyncFolderItems", out)])


def resolve_item(ctx, el):
    try:
        guid, kind, key = mb.decode_id(el.get("Id") or "")
    except ValueError:
        return None, ("ErrorInvalidIdMalformed", "Id is malformed.")
    if kind != "item":
        return None, ("ErrorCannotUseFolderIdForItemId", "Folder Id cannot be used as an Item Id.")
    m = ctx.by_guid.get(guid)
    if m is None:
        return None, ("ErrorItemNotFound", "The specified object was not found in the store.")
    if m.address.lower() not in ctx.access:
        return None, ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    it = m.by_key.get(key)
    if not isinstance(it, mb.Item):
        return None, ("ErrorItemNotFound", "The specified object was not found in the store.")
    if it.folder in ctx.state.denied:
        code = ctx.state.denied[it.folder]
        return None, (code, _folder_error(code))
    return it, None


def op_GetItem(ctx, body, counters):
    shape = parse_shape(body.find(M + "ItemShape"), "ItemShape")
    ids = _children(body, "ItemIds")
    if not ids:
        raise schema_error("The element 'ItemIds' has incomplete content.")
    msgs = []
    for el in ids:
        if el.tag != T + "ItemId":
            msgs.append(X.message_error("GetItem", "ErrorInvalidRequest",
                                        "Only t:ItemId is supported by this test server.", "<m:Items/>"))
            continue
        it, err = resolve_item(ctx, el)
        if err:
            msgs.append(X.message_error("GetItem", err[0], err[1], "<m:Items/>"))
            continue
        out = ["<m:Items>"]
        X.write_items((it,), shape, out)
        out.append("</m:Items>")
        counters["items"] += 1
        msgs.append(X.message_ok("GetItem", "".join(out)))
    return X.response("GetItem", msgs)


def op_ConvertId(ctx, body, counters):
    """EwsId <-> EntryId/HexEntryId for the loaded mailboxes (AlternateId only)."""
    dest = body.get("DestinationFormat")
    formats = ("EwsLegacyId", "EwsId", "EntryId", "HexEntryId", "StoreId", "OwaId")
    if dest not in formats:
        raise schema_error("The 'DestinationFormat' attribute is invalid.")
    msgs = []
    for el in _children(body, "SourceIds"):
        fmt, val, mbox = el.get("Format"), el.get("Id") or "", el.get("Mailbox") or ""
        obj = None
        try:
            if fmt == "EwsId":
                guid, kind, key = mb.decode_id(val)
                m = ctx.by_guid.get(guid)
                obj = m.by_key.get(key) if m else None
            elif fmt in ("EntryId", "HexEntryId"):
                raw = bytes.fromhex(val) if fmt == "HexEntryId" else X.base64.b64decode(val, validate=True)
                m = ctx.boxes.get(mbox.lower())
                key = raw[46:68] if len(raw) == 70 else raw[22:44] if len(raw) == 46 else None
                obj = m.by_key.get(key) if (m and key) else None
        except ValueError:
            obj = None
        if obj is None:
            msgs.append(X.message_error("ConvertId", "ErrorInvalidIdMalformed", "Id is malformed."))
            continue
        m = obj.mailbox if isinstance(obj, mb.Folder) else obj.folder.mailbox
        if m.address.lower() not in ctx.access:
            msgs.append(X.message_error("ConvertId", "ErrorAccessDenied", "Access is denied."))
            continue
        if dest in ("EwsId", "EwsLegacyId", "OwaId"):
            out = obj.ews_id
        elif dest == "EntryId":
            out = X.b64(obj.entry_id)
        elif dest == "HexEntryId":
            out = obj.entry_id.hex().upper()
        else:
            out = X.b64(obj.entry_id)
        msgs.append(X.message_ok("ConvertId", '<m:AlternateId xsi:type="t:AlternateIdType" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Format="%s" Id="%s" Mailbox="%s"/>'
                                 % (dest, X.attr(out), X.attr(m.address))))
    return X.response("ConvertId", msgs)


OPERATIONS = {name: globals()["op_" + name] for name in IMPLEMENTED}


def execute(ctx, req, counters):
    """Runs one parsed request; returns the response envelope text. Raises SoapFault."""
    fn = OPERATIONS.get(req.op)
    if fn is None:
        if req.op in KNOWN_OTHER:
            raise SoapFault("ErrorInvalidRequest", "The request is valid but this read-only test server does not implement %s." % req.op)
        raise schema_error("The element '%s' in namespace '%s' is not an EWS operation." % (req.op, X.NS_M))
    return X.envelope(fn(ctx, req.body, counters))
