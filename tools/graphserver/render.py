"""JSON rendering of the Graph server's entities (mailFolder, message and its eventMessage types,
mailboxFolder, mailboxItem, calendar, event, contactFolder, contact), with $select and
singleValueExtendedProperties, and a cache: an object is rendered once per query shape.

Properties follow Microsoft's CSDL of Graph v1.0 (DECLARED below: the names a $select may ask
for). A declared property the snapshot has no value for is written as null when selected, and
left out otherwise; properties the snapshot does not model (bodies, recipients) are never invented.
"""

import json
import threading

import gids
import model
import xmlout  # tools/ewsserver: the MAPI tag tables, so both servers return the same values

_OUTLOOK_ITEM = ("id", "categories", "changeKey", "createdDateTime", "lastModifiedDateTime")
_MESSAGE = _OUTLOOK_ITEM + (
    "bccRecipients", "body", "bodyPreview", "ccRecipients", "conversationId", "conversationIndex", "flag", "from",
    "hasAttachments", "importance", "inferenceClassification", "internetMessageHeaders", "internetMessageId",
    "isDeliveryReceiptRequested", "isDraft", "isRead", "isReadReceiptRequested", "parentFolderId",
    "receivedDateTime", "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink",
    "attachments", "extensions", "multiValueExtendedProperties", "singleValueExtendedProperties")
_EVENT_MESSAGE = _MESSAGE + ("endDateTime", "isAllDay", "isDelegated", "isOutOfDate", "location",
                             "meetingMessageType", "recurrence", "startDateTime", "type", "event")
_MAIL_FOLDER = ("id", "childFolderCount", "displayName", "isHidden", "parentFolderId", "totalItemCount",
                "unreadItemCount", "childFolders", "messageRules", "messages", "multiValueExtendedProperties",
                "singleValueExtendedProperties")
DECLARED = {
    "message": _MESSAGE,
    "eventMessage": _EVENT_MESSAGE,
    "eventMessageRequest": _EVENT_MESSAGE + ("allowNewTimeProposals", "meetingRequestType", "previousEndDateTime",
                                             "previousLocation", "previousStartDateTime", "responseRequested"),
    "eventMessageResponse": _EVENT_MESSAGE + ("proposedNewTime", "responseType"),
    "mailFolder": _MAIL_FOLDER,
    "mailSearchFolder": _MAIL_FOLDER + ("filterQuery", "includeNestedFolders", "isSupported", "sourceFolderIds"),
    "mailboxFolder": ("id", "childFolderCount", "displayName", "parentFolderId", "totalItemCount", "type",
                      "childFolders", "items", "multiValueExtendedProperties", "singleValueExtendedProperties"),
    "mailboxItem": _OUTLOOK_ITEM + ("size", "type", "multiValueExtendedProperties", "singleValueExtendedProperties"),
    "calendar": ("id", "allowedOnlineMeetingProviders", "canEdit", "canShare", "canViewPrivateItems", "changeKey",
                 "color", "defaultOnlineMeetingProvider", "hexColor", "isDefaultCalendar", "isRemovable",
                 "isTallyingResponses", "name", "owner", "calendarPermissions", "calendarView", "events",
                 "multiValueExtendedProperties", "singleValueExtendedProperties"),
    "event": _OUTLOOK_ITEM + (
        "allowNewTimeProposals", "attendees", "body", "bodyPreview", "cancelledOccurrences", "end", "hasAttachments",
        "hideAttendees", "iCalUId", "importance", "isAllDay", "isCancelled", "isDraft", "isOnlineMeeting",
        "isOrganizer", "isReminderOn", "location", "locations", "onlineMeeting", "onlineMeetingProvider",
        "onlineMeetingUrl", "organizer", "originalEndTimeZone", "originalStart", "originalStartTimeZone",
        "recurrence", "reminderMinutesBeforeStart", "responseRequested", "responseStatus", "sensitivity",
        "seriesMasterId", "showAs", "start", "subject", "transactionId", "type", "webLink", "attachments",
        "calendar", "exceptionOccurrences", "extensions", "instances", "multiValueExtendedProperties",
        "singleValueExtendedProperties"),
    "contactFolder": ("id", "displayName", "parentFolderId", "childFolders", "contacts",
                      "multiValueExtendedProperties", "singleValueExtendedProperties"),
    "contact": _OUTLOOK_ITEM + (
        "assistantName", "birthday", "businessAddress", "businessHomePage", "businessPhones", "children",
        "companyName", "department", "displayName", "emailAddresses", "fileAs", "generation", "givenName",
        "homeAddress", "homePhones", "imAddresses", "initials", "jobTitle", "manager", "middleName", "mobilePhone",
        "nickName", "officeLocation", "otherAddress", "parentFolderId", "personalNotes", "primaryEmailAddress",
        "profession", "secondaryEmailAddress", "spouseName", "surname", "tertiaryEmailAddress", "title",
        "yomiCompanyName", "yomiGivenName", "yomiSurname", "extensions", "multiValueExtendedProperties", "photo",
        "singleValueExtendedProperties"),
    "exchangeSettings": ("id", "primaryMailboxId"),
}
# Navigation properties: never written unless expanded (only singleValueExtendedProperties is).
NAVIGATION = frozenset(("attachments", "extensions", "multiValueExtendedProperties", "singleValueExtendedProperties",
                        "childFolders", "messages", "messageRules", "items", "event", "calendarPermissions",
                        "calendarView", "events", "calendar", "exceptionOccurrences", "instances", "contacts",
                        "photo"))
_LOWER = {t: {n.lower(): n for n in names} for t, names in DECLARED.items()}

SOURCE_KEY_TAGS = frozenset((0x65E0, 0x65E2, 0x65E3))
EXT_TYPES = {"binary": "Binary", "integer": "Integer", "string": "String", "systemtime": "SystemTime",
             "boolean": "Boolean", "long": "Long", "short": "Short", "double": "Double", "float": "Float",
             "currency": "Currency", "clsid": "CLSID", "applicationtime": "ApplicationTime", "object": "Object",
             "error": "Error", "null": "Null"}


def declared_name(entity, name):
    """The declared spelling of a property name (matched case-insensitively), or None."""
    return _LOWER[entity].get(name.lower())


def ext_echo(ptype, tag):
    """How Exchange writes a property id back: the type, then the tag in lowercase hex without
    leading zeros ("Integer 0xe07")."""
    return "%s 0x%x" % (ptype, tag)


_IMPORTANCE = {0: "low", 1: "normal", 2: "high"}
_FLAG = {0: "notFlagged", 1: "complete", 2: "flagged"}


class Shape:
    """What a query asks of each object; hashable, the key of the render cache."""
    __slots__ = ("entity_set", "select", "ext", "immutable", "no_source_key", "annotate", "extras", "_key")

    def __init__(self, entity_set, select=None, ext=None, immutable=False, no_source_key=False, annotate=False,
                 extras=None):
        self.entity_set = entity_set      # 'message', 'mailFolder', 'mailboxFolder', ... (base type)
        self.select = select              # tuple of declared names, or None for the default set
        self.ext = ext                    # tuple of (tag, ptype) asked by $expand, or None
        self.immutable = immutable
        self.no_source_key = no_source_key
        self.annotate = annotate          # write @odata.type on every object (delta responses do)
        self.extras = extras              # base URL when undeclared documented properties are on
        self._key = (entity_set, select, ext, immutable, no_source_key, annotate, extras)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Shape) and self._key == other._key


ITEM_TAGS = xmlout.ITEM_TAGS
# Folders also answer PidTagAttributeHidden (isHidden) here.
FOLDER_TAGS = dict(xmlout.FOLDER_TAGS)
FOLDER_TAGS[0x10F4] = ("Boolean", lambda f: "true" if f.hidden else "false")


def _ext_values(shape, table, obj):
    out = []
    for tag, ptype in shape.ext or ():
        if shape.no_source_key and tag in SOURCE_KEY_TAGS:
            continue
        known = table.get(tag)
        # A 32-bit property asked for as Long is answered too (reported of Graph for 0x0E08).
        if known is None or (known[0] != ptype and not (known[0] == "Integer" and ptype == "Long")):
            continue
        val = known[1](obj)
        if val is None:
            continue
        out.append({"id": ext_echo(ptype, tag), "value": val})
    return out


def _finish(shape, entity, d, ext):
    """Applies $select to the full property dict `d` (annotations and id always stay), adds the
    expanded extended properties."""
    if shape.select is not None:
        out = {}
        for k, v in d.items():
            if k.startswith("@") or k == "id":
                out[k] = v
        for name in shape.select:
            if name in NAVIGATION:
                continue
            if name in d:
                out[name] = d[name]
            elif declared_name(entity, name):
                out[name] = None
        d = out
    if ext:
        d["singleValueExtendedProperties"] = ext
    return d


def item_id(view, it, shape):
    return gids.immutable_id(it.key) if shape.immutable else view.iid[it]


def message(view, it, shape):
    tname, mtype, extra = model.message_type(it.cls)
    d = {}
    if shape.annotate or tname != "message":
        d["@odata.type"] = "#microsoft.graph." + tname
    d["@odata.etag"] = 'W/"%s"' % it.ews_ck
    d["id"] = item_id(view, it, shape)
    d["createdDateTime"] = it.created
    d["lastModifiedDateTime"] = it.modified
    d["changeKey"] = it.ews_ck
    d["categories"] = list(it.categories)
    d["receivedDateTime"] = it.received
    d["sentDateTime"] = it.sent
    d["hasAttachments"] = bool(it.msg_flags & 0x10) if it.msg_flags is not None else False
    d["internetMessageId"] = it.message_id
    d["subject"] = it.subject
    d["importance"] = _IMPORTANCE.get(it.importance, "normal")
    d["parentFolderId"] = view.fid[it.folder]
    d["isRead"] = bool(it.read)
    d["isDraft"] = bool(it.msg_flags & 0x08) if it.msg_flags is not None else False
    d["flag"] = {"flagStatus": _FLAG.get(it.flag_status or 0, "notFlagged")}
    if mtype:
        d["meetingMessageType"] = mtype
        for k, v in extra:
            d[k] = v
    return _finish(shape, tname, d, _ext_values(shape, ITEM_TAGS, it))


def mailbox_item(view, it, shape):
    d = {"@odata.type": "#microsoft.graph.mailboxItem", "@odata.etag": 'W/"%s"' % it.ews_ck,
         "id": item_id(view, it, shape), "createdDateTime": it.created, "lastModifiedDateTime": it.modified,
         "changeKey": it.ews_ck, "categories": list(it.categories), "type": it.cls, "size": it.size}
    return _finish(shape, "mailboxItem", d, _ext_values(shape, ITEM_TAGS, it))


def event(view, it, shape):
    ck = gids.bare_change_key(it.change_key)   # events and calendars: the bare 22-byte change key
    d = {"@odata.etag": 'W/"%s"' % ck, "id": item_id(view, it, shape), "createdDateTime": it.created,
         "lastModifiedDateTime": it.modified, "changeKey": ck, "categories": list(it.categories),
         "subject": it.subject, "importance": _IMPORTANCE.get(it.importance, "normal"),
         "hasAttachments": bool(it.msg_flags & 0x10) if it.msg_flags is not None else False}
    if shape.annotate:
        d = dict({"@odata.type": "#microsoft.graph.event"}, **d)
    return _finish(shape, "event", d, _ext_values(shape, ITEM_TAGS, it))


def contact(view, it, shape):
    d = {"@odata.etag": 'W/"%s"' % it.ews_ck, "id": item_id(view, it, shape), "createdDateTime": it.created,
         "lastModifiedDateTime": it.modified, "changeKey": it.ews_ck, "categories": list(it.categories),
         "parentFolderId": view.fid[it.folder], "displayName": it.subject, "fileAs": it.subject}
    if shape.annotate:
        d = dict({"@odata.type": "#microsoft.graph.contact"}, **d)
    return _finish(shape, "contact", d, _ext_values(shape, ITEM_TAGS, it))


def mail_folder(view, f, shape):
    search = view.kind[f] == "search"
    d = {}
    if search:
        d["@odata.type"] = "#microsoft.graph.mailSearchFolder"
    elif shape.annotate:
        d["@odata.type"] = "#microsoft.graph.mailFolder"
    d["id"] = view.fid[f]
    d["displayName"] = f.name
    d["parentFolderId"] = view.fid[f.parent] if f.parent is not None else None
    d["childFolderCount"] = len(f.children)
    d["unreadItemCount"] = f.unread_count()
    d["totalItemCount"] = f.total()
    d["isHidden"] = bool(f.hidden)
    if search:
        d["isSupported"] = True
    return _finish(shape, "mailSearchFolder" if search else "mailFolder", d,
                   _ext_values(shape, FOLDER_TAGS, f))


def mailbox_folder(view, f, shape):
    d = {"@odata.type": "#microsoft.graph.mailboxFolder", "id": view.fid[f], "displayName": f.name,
         "parentFolderId": view.fid[f.parent] if f.parent is not None else None,
         "childFolderCount": len(f.children), "totalItemCount": f.total(), "type": f.cls}
    if shape.extras:
        # Present in Microsoft's examples, absent from the v1.0 CSDL (--undeclared-properties).
        d["parentMailboxUrl"] = "%s/v1.0/admin/exchange/mailboxes/%s" % (shape.extras, view.mailbox_id)
        d["wellKnownName"] = f.role if f.role in model.MAIL_WELL_KNOWN or f.role in (
            "root", "calendar", "contacts", "tasks", "notes", "journal") else None
    return _finish(shape, "mailboxFolder", d, _ext_values(shape, FOLDER_TAGS, f))


def calendar(view, f, shape):
    d = {"id": view.fid[f], "name": f.name, "color": "auto", "hexColor": "",
         "isDefaultCalendar": f.role == "calendar", "changeKey": gids.bare_change_key(f.change_key),
         "canShare": True, "canViewPrivateItems": True, "canEdit": True,
         "allowedOnlineMeetingProviders": ["teamsForBusiness"], "defaultOnlineMeetingProvider": "teamsForBusiness",
         "isTallyingResponses": True, "isRemovable": f.role != "calendar",
         "owner": {"name": view.address.split("@")[0], "address": view.address}}
    return _finish(shape, "calendar", d, _ext_values(shape, FOLDER_TAGS, f))


def contact_folder(view, f, shape):
    d = {"id": view.fid[f], "displayName": f.name,
         "parentFolderId": view.fid[f.parent] if f.parent is not None else None}
    if shape.annotate:
        d = dict({"@odata.type": "#microsoft.graph.contactFolder"}, **d)
    return _finish(shape, "contactFolder", d, _ext_values(shape, FOLDER_TAGS, f))


RENDERERS = {"message": message, "mailboxItem": mailbox_item, "event": event, "contact": contact,
             "mailFolder": mail_folder, "mailboxFolder": mailbox_folder, "calendar": calendar,
             "contactFolder": contact_folder}


def removed(view, obj, shape, reason):
    """The entry a delta round gives for an object that left the collection."""
    ent = shape.entity_set
    if ent in ("mailFolder", "mailboxFolder", "calendar", "contactFolder"):
        oid = view.fid[obj]
    else:
        oid = item_id(view, obj, shape)
    return {"@odata.type": "#microsoft.graph." + ent, "id": oid, "@removed": {"reason": reason}}


class Cache:
    """Rendered JSON text by shape and object. Objects are never modified once loaded (a new
    generation is new objects), so entries never go stale; the cache is bounded by dropping a
    whole shape when too many shapes are held."""

    MAX_SHAPES = 64

    def __init__(self):
        self.lock = threading.Lock()
        self.by_shape = {}

    def texts(self, view, objs, shape):
        with self.lock:
            table = self.by_shape.get(shape)
            if table is None:
                if len(self.by_shape) >= self.MAX_SHAPES:
                    self.by_shape.pop(next(iter(self.by_shape)))
                table = self.by_shape[shape] = {}
        fn = RENDERERS[shape.entity_set]
        out = []
        dumps = _dumps
        for o in objs:
            t = table.get(o)
            if t is None:
                t = table[o] = dumps(fn(view, o, shape))
            out.append(t)
        return out


def _dumps(d):
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


dumps = _dumps
