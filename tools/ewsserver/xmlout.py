"""XML writing for the test EWS server: envelopes, SOAP faults, response messages, and the
folder and item elements in the element order of Microsoft's types.xsd."""

import base64
import re

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_M = "http://schemas.microsoft.com/exchange/services/2006/messages"
NS_T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS_E = "http://schemas.microsoft.com/exchange/services/2006/errors"

# What the server answers as (--exchange-version, versions.py): its ServerVersionInfo and the shape
# of its envelopes and faults ("2007", "2010" or "2016"). Set once at start.
SERVER_VERSION = dict(major=15, minor=1, build=2507, minor_build=6, version="V2017_07_11")
STYLE = "2016"
VERSION_HEADER = True   # --no-version-header: no ServerVersionInfo
# --bad-char-refs: characters XML 1.0 forbids are written as character references, as Exchange
# writes them (&#x1A;), instead of being dropped.
BAD_CHAR_REFS = False

# Characters XML 1.0 does not allow, and lone surrogates (which UTF-8 cannot encode).
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _char_ref(m):
    return "&#x%X;" % ord(m.group(0))


def esc(s):
    s = str(s)
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    if _BAD_CHARS.search(s):
        if BAD_CHAR_REFS:
            s = _CONTROL.sub(_char_ref, s)
        s = _BAD_CHARS.sub("", s)
    return s


def attr(s):
    s = esc(s)
    if '"' in s:
        s = s.replace('"', "&quot;")
    if "\n" in s or "\r" in s or "\t" in s:
        s = s.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return s


def b64(data):
    return base64.b64encode(data).decode("ascii")


def envelope(body):
    """The SOAP envelope around `body`: a string, or a list of pieces (returned as a list, so a
    large response is joined once, by the caller, instead of copied at every level). Its shape
    follows the version: 2007 writes soap: and t:ServerVersionInfo without Version; 2010 and
    later s: and h:ServerVersionInfo with Version."""
    v = SERVER_VERSION
    if not VERSION_HEADER:
        head = '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s"><s:Body>' % NS_SOAP
        tail = "</s:Body></s:Envelope>"
    elif STYLE == "2007":
        head = ('<?xml version="1.0" encoding="utf-8"?>'
                '<soap:Envelope xmlns:soap="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header>'
                '<t:ServerVersionInfo MajorVersion="%d" MinorVersion="%d" MajorBuildNumber="%d" '
                'MinorBuildNumber="%d" xmlns:t="%s"/></soap:Header><soap:Body>'
                % (NS_SOAP, v["major"], v["minor"], v["build"], v["minor_build"], NS_T))
        tail = "</soap:Body></soap:Envelope>"
    else:
        head = ('<?xml version="1.0" encoding="utf-8"?>'
                '<s:Envelope xmlns:s="%s"><s:Header>'
                '<h:ServerVersionInfo MajorVersion="%d" MinorVersion="%d" MajorBuildNumber="%d" '
                'MinorBuildNumber="%d" Version="%s" xmlns:h="%s"/>'
                '</s:Header><s:Body>'
                % (NS_SOAP, v["major"], v["minor"], v["build"], v["minor_build"], v["version"], NS_T))
        tail = "</s:Body></s:Envelope>"
    if isinstance(body, list):
        return [head] + body + [tail]
    return head + body + tail


def fault(code, message, message_xml=""):
    """A SOAP 1.1 fault in the shape Exchange sends: from 2010 on, faultcode in the types
    namespace ("a:ErrorServerBusy"); Exchange 2007 writes "soap11:Client" and leaves the EWS code
    to the detail. The detail holds the EWS response code and message in the errors namespace
    and an optional t:MessageXml."""
    mx = ('<t:MessageXml xmlns:t="%s">%s</t:MessageXml>' % (NS_T, message_xml)) if message_xml else ""
    detail = ('<detail><e:ResponseCode xmlns:e="%s">%s</e:ResponseCode><e:Message xmlns:e="%s">%s</e:Message>%s'
              '</detail>' % (NS_E, code, NS_E, esc(message), mx))
    if STYLE == "2007":
        body = ('<soap11:Fault xmlns:soap11="%s"><faultcode>soap11:Client</faultcode><faultstring>%s</faultstring>'
                '%s</soap11:Fault>' % (NS_SOAP, esc(message), detail))
        return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body>'
                '</soap:Envelope>' % (NS_SOAP, body))
    body = ('<s:Fault><faultcode xmlns:a="%s">a:%s</faultcode><faultstring>%s</faultstring>%s</s:Fault>'
            % (NS_T, code, esc(message), detail))
    return ('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="%s"><s:Body>%s</s:Body></s:Envelope>'
            % (NS_SOAP, body))


BUSY_TEXT = "The server cannot service this request right now. Try again later."


def busy_values(backoff_ms):
    """MessageXml of a throttling answer: other values first, BackOffMilliseconds last."""
    return ('<t:Value Name="Policy">DefaultThrottlingPolicy</t:Value><t:Value Name="MaxConcurrency">10</t:Value>'
            '<t:Value Name="BackOffMilliseconds">%d</t:Value>' % backoff_ms)


def busy_fault(backoff_ms, code="ErrorServerBusy"):
    return fault(code, BUSY_TEXT, busy_values(backoff_ms))


def busy_message(op, backoff_ms, code="ErrorServerBusy"):
    """A throttling code in a normal response (HTTP 200): one Error message of `op`."""
    inner = "<m:Items/>" if op == "GetItem" else ""
    msg = ('<m:%sResponseMessage ResponseClass="Error"><m:MessageText>%s</m:MessageText>'
           '<m:ResponseCode>%s</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>'
           '<m:MessageXml>%s</m:MessageXml>%s</m:%sResponseMessage>'
           % (op, BUSY_TEXT, code, busy_values(backoff_ms), inner, op))
    return envelope(response(op, [msg]))


def schema_fault(violation, line=0, pos=0):
    return fault("ErrorSchemaValidation", "The request failed schema validation: " + violation,
                 "<t:LineNumber>%d</t:LineNumber><t:LinePosition>%d</t:LinePosition><t:Violation>%s</t:Violation>"
                 % (line, pos, esc(violation)))


class SoapFault(Exception):
    """The whole request fails: HTTP 500 with a SOAP fault body."""

    def __init__(self, code, message, xml=None):
        super().__init__(message)
        self.code = code
        self.xml = xml or fault(code, message)


def schema_error(violation):
    return SoapFault("ErrorSchemaValidation", violation, schema_fault(violation))


def response(op, messages):
    """The operation's response element around its messages (strings or lists of pieces), as a
    list of pieces."""
    out = ['<m:%sResponse xmlns:m="%s" xmlns:t="%s"><m:ResponseMessages>' % (op, NS_M, NS_T)]
    for m in messages:
        if isinstance(m, list):
            out.extend(m)
        else:
            out.append(m)
    out.append('</m:ResponseMessages></m:%sResponse>' % op)
    return out


def message_ok(op, inner):
    """A Success response message; `inner` is a string or a list of pieces (then so is the result)."""
    head = '<m:%sResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' % op
    tail = '</m:%sResponseMessage>' % op
    if isinstance(inner, list):
        return [head] + inner + [tail]
    return head + inner + tail


def message_error(op, code, text, inner=""):
    return ('<m:%sResponseMessage ResponseClass="Error"><m:MessageText>%s</m:MessageText>'
            '<m:ResponseCode>%s</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>%s'
            '</m:%sResponseMessage>' % (op, esc(text), code, inner, op))


# ---- shapes --------------------------------------------------------------------------------

class Shape:
    """What the client asked for: BaseShape, FieldURIs, and extended properties by tag."""
    __slots__ = ("base", "fields", "ext", "_key")

    def __init__(self, base="Default", fields=(), ext=()):
        self.base = base
        self.fields = set(fields)
        self.ext = list(ext)      # (tag int, type as sent, tag text echoed)
        self._key = None

    def key(self):
        """Two requests with the same shape render an item the same way."""
        if self._key is None:
            self._key = (self.base, frozenset(self.fields), tuple(self.ext))
        return self._key

    def want(self, uri, in_default=False):
        if self.base == "AllProperties":
            return True
        if uri in self.fields:
            return True
        return in_default and self.base == "Default"


# Extended properties the server knows, by tag: (type, getter for items, getter for folders).
def _i(v):
    return None if v is None else str(int(v))


def _bin(v):
    return None if v is None else b64(v)


def _systime(v):
    return v or None


ITEM_TAGS = {
    0x65E0: ("Binary", lambda it: _bin(it.key)),
    0x65E2: ("Binary", lambda it: _bin(it.change_key)),
    0x65E3: ("Binary", lambda it: _bin(it.pcl)),
    0x0E07: ("Integer", lambda it: _i(it.msg_flags)),
    0x1090: ("Integer", lambda it: _i(it.flag_status)),
    0x0E08: ("Integer", lambda it: _i(it.size)),
    0x0017: ("Integer", lambda it: _i(it.importance)),
    0x001A: ("String", lambda it: it.cls),
    0x0037: ("String", lambda it: it.subject),
    0x1035: ("String", lambda it: it.message_id),
    0x0E06: ("SystemTime", lambda it: _systime(it.received)),
    0x0039: ("SystemTime", lambda it: _systime(it.sent)),
    0x3007: ("SystemTime", lambda it: _systime(it.created)),
    0x3008: ("SystemTime", lambda it: _systime(it.modified)),
    0x0FFF: ("Binary", lambda it: _bin(it.entry_id)),
    0x67F4: ("Long", lambda it: _prq(it)),
}

FOLDER_TAGS = {
    0x65E0: ("Binary", lambda f: _bin(f.key)),
    0x65E2: ("Binary", lambda f: _bin(f.change_key)),
    0x65E3: ("Binary", lambda f: _bin(f.pcl)),
    0x3001: ("String", lambda f: f.name),
    0x3613: ("String", lambda f: f.cls),
    0x3602: ("Integer", lambda f: str(f.total())),
    0x3603: ("Integer", lambda f: str(f.unread_count())),
    0x3617: ("Integer", lambda f: str(len(f.assoc))),
    0x360A: ("Boolean", lambda f: "true" if f.children else "false"),
    0x0FFF: ("Binary", lambda f: _bin(f.entry_id)),
    0x0E09: ("Binary", lambda f: _bin(f.parent.entry_id) if f.parent is not None else None),
    0x67F4: ("Long", lambda f: _prq(f)),
}


def _special(role):
    """PR_IPM_APPOINTMENT_ENTRYID and its siblings: Exchange keeps the entry ids of the special
    folders on the Inbox and on the mailbox root, which is how MAPI clients find them."""
    def get(f):
        if f.role not in ("inbox", "root"):
            return None
        target = f.mailbox.by_role.get(role)
        return _bin(target.entry_id) if target is not None else None
    return get


for _tag, _role in ((0x36D0, "calendar"), (0x36D1, "contacts"), (0x36D2, "journal"), (0x36D3, "notes"),
                    (0x36D4, "tasks"), (0x36D7, "drafts")):
    FOLDER_TAGS[_tag] = ("Binary", _special(_role))


def _additional_ren(f):
    """PR_ADDITIONAL_REN_ENTRYIDS (0x36D8), on the Inbox and the root: the entry ids of Conflicts,
    Sync Issues, Local Failures, Server Failures and Junk E-mail, in that order ([MS-OXOSFLD]
    2.2.4); an empty value where the mailbox has no such folder."""
    if f.role not in ("inbox", "root"):
        return None
    out = []
    for role in ("conflicts", "syncissues", "localfailures", "serverfailures", "junkemail"):
        target = f.mailbox.by_role.get(role)
        out.append(_bin(target.entry_id) if target is not None else "")
    return out if any(out) else None


FOLDER_TAGS[0x36D8] = ("BinaryArray", _additional_ren)


def _prq(obj):
    """PRQ_ID_SECURE4 as a cache file stores it (replid + GC, little-endian int64): only when the
    mailbox file gives a replid, since a real server has no such property."""
    if obj.replid is None:
        return None
    raw = int(obj.replid).to_bytes(2, "little") + obj.key[16:22]
    return str(int.from_bytes(raw, "little", signed=True))


def _ext_props(shape, table, obj, out):
    for tag, ptype, tag_text in shape.ext:
        known = table.get(tag)
        if known is None or known[0].lower() != ptype.lower():
            continue
        val = known[1](obj)
        if val is None:
            continue
        if isinstance(val, list):   # a multi-valued property: t:Values
            vals = "".join("<t:Value>%s</t:Value>" % esc(v) for v in val)
            out.append('<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="%s" PropertyType="%s"/>'
                       '<t:Values>%s</t:Values></t:ExtendedProperty>' % (tag_text, known[0], vals))
            continue
        out.append('<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="%s" PropertyType="%s"/>'
                   '<t:Value>%s</t:Value></t:ExtendedProperty>' % (tag_text, known[0], esc(val)))


_IMPORTANCE = {0: "Low", 1: "Normal", 2: "High"}
_FLAG = {0: "NotFlagged", 1: "Complete", 2: "Flagged"}
_RIGHTS = ("<t:EffectiveRights><t:CreateAssociated>true</t:CreateAssociated><t:CreateContents>true"
           "</t:CreateContents><t:CreateHierarchy>true</t:CreateHierarchy><t:Delete>true</t:Delete>"
           "<t:Modify>true</t:Modify><t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems>"
           "</t:EffectiveRights>")
_ITEM_RIGHTS = ("<t:EffectiveRights><t:CreateAssociated>false</t:CreateAssociated><t:CreateContents>false"
                "</t:CreateContents><t:CreateHierarchy>false</t:CreateHierarchy><t:Delete>true</t:Delete>"
                "<t:Modify>true</t:Modify><t:Read>true</t:Read><t:ViewPrivateItems>true</t:ViewPrivateItems>"
                "</t:EffectiveRights>")
MESSAGE_LIKE = frozenset(("Message", "MeetingRequest", "MeetingResponse", "MeetingCancellation", "PostItem"))


def _rights(text):
    """EffectiveRights as the version has them: Exchange 2007's end before ViewPrivateItems."""
    return text.replace("<t:ViewPrivateItems>true</t:ViewPrivateItems>", "") if STYLE == "2007" else text


def _has(field):
    """Whether the served version's schema has an element: item:IsAssociated came with 2010,
    item:Flag and a folder's DistinguishedFolderId with 2013."""
    return {"IsAssociated": STYLE != "2007", "Flag": STYLE == "2016", "DistinguishedFolderId": STYLE == "2016"}[field]


# Rendered items by (shape, element) and item id: mailboxes do not change while they are served,
# so an item is rendered once per shape (the server's main cost in paging benchmarks). Each
# (shape, element) pair also gets its renderer compiled once: the shape's questions (which fields,
# which extended properties of the right type) are answered then, not for every item.
_RENDERED = {}
_RENDERERS = {}


def write_items(items, shape, out, before=None, after=None):
    """Appends each item's element (rendered once per shape and kept), each between `before` and
    `after` when given (e.g. t:Create)."""
    skey = shape.key()
    element = cache = render = None
    for it in items:
        if it.element != element:
            element = it.element
            k = (skey, element)
            cache = _RENDERED.get(k)
            if cache is None:
                cache = _RENDERED.setdefault(k, {})
            render = _RENDERERS.get(k)
            if render is None:
                render = _RENDERERS.setdefault(k, _compile_item(element, shape))
        xml = cache.get(it.ews_id)
        if xml is None:
            xml = cache[it.ews_id] = render(it)
        if before:
            out.append(before)
            out.append(xml)
            out.append(after)
        else:
            out.append(xml)


def _compile_item(element, shape):
    """A function rendering an item as `element` for `shape`: fields in the order of t:ItemType
    then t:MessageType (the same output as _render_item, which stays the reference)."""
    w = shape.want
    ext = []
    for tag, ptype, tag_text in shape.ext:
        known = ITEM_TAGS.get(tag)
        if known is not None and known[0].lower() == ptype.lower():
            ext.append(('<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="%s" PropertyType="%s"/><t:Value>'
                        % (tag_text, known[0]), known[1]))
    open_tag, close_tag = "<t:%s>" % element, "</t:%s>" % element
    parent = w("item:ParentFolderId", True)
    cls = w("item:ItemClass", True)
    subject = w("item:Subject", True)
    sensitivity = w("item:Sensitivity", True)
    received = w("item:DateTimeReceived", True)
    size = w("item:Size", True)
    importance = w("item:Importance", True)
    sent = w("item:DateTimeSent", True)
    created = w("item:DateTimeCreated", True)
    attachments = w("item:HasAttachments", True)
    rights = w("item:EffectiveRights")
    item_rights = _rights(_ITEM_RIGHTS)
    modified = w("item:LastModifiedTime", True)
    assoc = _has("IsAssociated") and w("item:IsAssociated", True)
    flag = _has("Flag") and w("item:Flag")
    msg = element in MESSAGE_LIKE
    msgid = msg and w("message:InternetMessageId", True)
    isread = msg and w("message:IsRead", True)

    def render(it):
        out = [open_tag, '<t:ItemId Id="', it.ews_id, '" ChangeKey="', it.ews_ck, '"/>']
        a = out.append
        if parent:
            a('<t:ParentFolderId Id="%s" ChangeKey="%s"/>' % (it.folder.ews_id, it.folder.ews_ck))
        if cls:
            a("<t:ItemClass>%s</t:ItemClass>" % esc(it.cls))
        if subject and it.subject is not None:
            a("<t:Subject>%s</t:Subject>" % esc(it.subject))
        if sensitivity:
            a("<t:Sensitivity>Normal</t:Sensitivity>")
        if received and it.received:
            a("<t:DateTimeReceived>%s</t:DateTimeReceived>" % it.received)
        if size and it.size is not None:
            a("<t:Size>%d</t:Size>" % it.size)
        if importance:
            a("<t:Importance>%s</t:Importance>" % _IMPORTANCE.get(it.importance, "Normal"))
        if sent and it.sent:
            a("<t:DateTimeSent>%s</t:DateTimeSent>" % it.sent)
        if created and it.created:
            a("<t:DateTimeCreated>%s</t:DateTimeCreated>" % it.created)
        if attachments:
            a("<t:HasAttachments>false</t:HasAttachments>")
        for head, get in ext:
            val = get(it)
            if val is not None:
                a(head)
                a(esc(val))
                a("</t:Value></t:ExtendedProperty>")
        if rights:
            a(item_rights)
        if modified and it.modified:
            a("<t:LastModifiedTime>%s</t:LastModifiedTime>" % it.modified)
        if assoc:
            a("<t:IsAssociated>true</t:IsAssociated>" if it.associated else "<t:IsAssociated>false</t:IsAssociated>")
        if flag:
            a("<t:Flag><t:FlagStatus>%s</t:FlagStatus></t:Flag>" % _FLAG.get(it.flag_status or 0, "NotFlagged"))
        if msgid and it.message_id:
            a("<t:InternetMessageId>%s</t:InternetMessageId>" % esc(it.message_id))
        if isread and it.read is not None:
            a("<t:IsRead>true</t:IsRead>" if it.read else "<t:IsRead>false</t:IsRead>")
        a(close_tag)
        return "".join(out)
    return render


def _render_item(it, element, shape, out):
    """Fields in the order of t:ItemType then t:MessageType (the reference for _compile_item)."""
    w = shape.want
    out.append("<t:%s>" % element)
    out.append('<t:ItemId Id="%s" ChangeKey="%s"/>' % (it.ews_id, it.ews_ck))
    if w("item:ParentFolderId", True):
        out.append('<t:ParentFolderId Id="%s" ChangeKey="%s"/>' % (it.folder.ews_id, it.folder.ews_ck))
    if w("item:ItemClass", True):
        out.append("<t:ItemClass>%s</t:ItemClass>" % esc(it.cls))
    if it.subject is not None and w("item:Subject", True):
        out.append("<t:Subject>%s</t:Subject>" % esc(it.subject))
    if w("item:Sensitivity", True):
        out.append("<t:Sensitivity>Normal</t:Sensitivity>")
    if it.received and w("item:DateTimeReceived", True):
        out.append("<t:DateTimeReceived>%s</t:DateTimeReceived>" % it.received)
    if it.size is not None and w("item:Size", True):
        out.append("<t:Size>%d</t:Size>" % it.size)
    if w("item:Importance", True):
        out.append("<t:Importance>%s</t:Importance>" % _IMPORTANCE.get(it.importance, "Normal"))
    if it.sent and w("item:DateTimeSent", True):
        out.append("<t:DateTimeSent>%s</t:DateTimeSent>" % it.sent)
    if it.created and w("item:DateTimeCreated", True):
        out.append("<t:DateTimeCreated>%s</t:DateTimeCreated>" % it.created)
    if w("item:HasAttachments", True):
        out.append("<t:HasAttachments>false</t:HasAttachments>")
    if shape.ext:
        _ext_props(shape, ITEM_TAGS, it, out)
    if w("item:EffectiveRights"):
        out.append(_rights(_ITEM_RIGHTS))
    if it.modified and w("item:LastModifiedTime", True):
        out.append("<t:LastModifiedTime>%s</t:LastModifiedTime>" % it.modified)
    if _has("IsAssociated") and w("item:IsAssociated", True):
        out.append("<t:IsAssociated>%s</t:IsAssociated>" % ("true" if it.associated else "false"))
    if _has("Flag") and w("item:Flag"):
        out.append("<t:Flag><t:FlagStatus>%s</t:FlagStatus></t:Flag>" % _FLAG.get(it.flag_status or 0, "NotFlagged"))
    if element in MESSAGE_LIKE:
        if it.message_id and w("message:InternetMessageId", True):
            out.append("<t:InternetMessageId>%s</t:InternetMessageId>" % esc(it.message_id))
        if it.read is not None and w("message:IsRead", True):
            out.append("<t:IsRead>%s</t:IsRead>" % ("true" if it.read else "false"))
    out.append("</t:%s>" % element)


def write_folder(fo, element, shape, out, distinguished_name=None):
    """Appends one folder element; fields in the order of t:BaseFolderType then t:FolderType."""
    w = shape.want
    out.append("<t:%s>" % element)
    out.append('<t:FolderId Id="%s" ChangeKey="%s"/>' % (fo.ews_id, fo.ews_ck))
    if fo.parent is not None and w("folder:ParentFolderId"):
        out.append('<t:ParentFolderId Id="%s" ChangeKey="%s"/>' % (fo.parent.ews_id, fo.parent.ews_ck))
    if fo.cls and w("folder:FolderClass"):
        out.append("<t:FolderClass>%s</t:FolderClass>" % esc(fo.cls))
    if w("folder:DisplayName", True):
        out.append("<t:DisplayName>%s</t:DisplayName>" % esc(fo.name))
    if w("folder:TotalCount", True):
        out.append("<t:TotalCount>%d</t:TotalCount>" % fo.total())
    if w("folder:ChildFolderCount", True):
        out.append("<t:ChildFolderCount>%d</t:ChildFolderCount>" % len(fo.children))
    if shape.ext:
        _ext_props(shape, FOLDER_TAGS, fo, out)
    if w("folder:EffectiveRights"):
        out.append(_rights(_RIGHTS))
    if distinguished_name and _has("DistinguishedFolderId") and w("folder:DistinguishedFolderId"):
        out.append("<t:DistinguishedFolderId>%s</t:DistinguishedFolderId>" % distinguished_name)
    if element in ("Folder", "SearchFolder", "TasksFolder") and w("folder:UnreadCount", True):
        out.append("<t:UnreadCount>%d</t:UnreadCount>" % fo.unread_count())
    out.append("</t:%s>" % element)
