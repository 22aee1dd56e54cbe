"""Mailbox model of the test EWS server: loads snapshot files (docs/SNAPSHOT.md) and
encodes/decodes the EWS ids, change keys and sync states that the server hands out.

Ids follow the layout of real Exchange ids (docs/TEST_SERVER.md, "Ids"):
    base64( 00 03 | u16le 36 | mailbox GUID as 36 ASCII chars | 00 | u16le len | entry id )
where the entry id is a MAPI entry id: 4 flag bytes, 16-byte store provider UID, u16le type
(0x0001 folder, 0x0007 message), then 16-byte GUID + 6-byte GC + 2 pad bytes of the folder,
and for a message the same 24 bytes again for the message itself. So the 22-byte source key
of every object can be read back from its id.
"""

import base64
import gzip
import hashlib
import json
import os
import re
import struct
import uuid

KEY_LEN = 22
FOLDER_EID_TYPE = 0x0001
MESSAGE_EID_TYPE = 0x0007

# Distinguished folder names accepted by Microsoft's schema (DistinguishedFolderIdNameType).
DISTINGUISHED_NAMES = frozenset("""
calendar contacts deleteditems drafts inbox journal notes outbox sentitems tasks msgfolderroot
publicfoldersroot root junkemail searchfolders voicemail recoverableitemsroot
recoverableitemsdeletions recoverableitemsversions recoverableitemspurges
recoverableitemsdiscoveryholds archiveroot archivemsgfolderroot archivedeleteditems archiveinbox
archiverecoverableitemsroot archiverecoverableitemsdeletions archiverecoverableitemsversions
archiverecoverableitemspurges archiverecoverableitemsdiscoveryholds syncissues conflicts
localfailures serverfailures recipientcache quickcontacts conversationhistory adminauditlogs
todosearch mycontacts directory imcontactlist peopleconnect favorites mecontact personmetadata
teamspaceactivity teamspacemessaging teamspaceworkitems scheduled orionnotes tagitems
alltaggeditems externalcontacts teamchat teamchathistory yammerroot yammerinbound yammeroutbound
yammerfeeds onedriveroot onedriverecylebin onedrivesystem onedrivevolume important starred archive
""".split())


# --opaque-ids: ids of a layout Exchange does not use (as some open-source EWS servers hand out),
# from which no key can be read: text -> (mailbox GUID text, "folder"|"item", key). None: off.
OPAQUE_IDS = None


class MailboxError(Exception):
    """A mailbox file that cannot be served."""


class Folder:
    __slots__ = ("mailbox", "src_id", "parent_src", "parent", "children", "key", "gc", "replid",
                 "name", "path", "cls", "role", "stored_total", "stored_unread", "change_key",
                 "pcl", "items", "assoc", "find_order", "ews_id", "ews_ck", "entry_id", "index",
                 "unread", "hidden")

    def total(self):
        return self.stored_total if self.stored_total is not None else len(self.items)

    def unread_count(self):
        return self.stored_unread if self.stored_unread is not None else self.unread


class Item:
    __slots__ = ("folder", "src_id", "key", "replid", "cls", "subject", "message_id", "received",
                 "sent", "created", "modified", "read", "msg_flags", "flag_status", "importance",
                 "size", "associated", "change_key", "pcl", "ews_id", "ews_ck", "entry_id", "index",
                 "element", "categories")


def _hex(value, what, lineno):
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise MailboxError("line %d: %s is not hex" % (lineno, what)) from None


def _int(o, name, lineno, path):
    v = o.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not -2**63 <= v < 2**63:
        raise MailboxError("%s:%d: %s is not an integer" % (path, lineno, name))
    return v


def _str(o, name, lineno, path):
    v = o.get(name)
    if v is not None and not isinstance(v, str):
        raise MailboxError("%s:%d: %s is not a string" % (path, lineno, name))
    return v


_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(Z|[+-]\d\d:\d\d)$")


def _time(o, name, lineno, path):
    """Times are served as given, so they must already be valid xs:dateTime values."""
    v = _str(o, name, lineno, path)
    if v is not None and not _TIME.match(v):
        raise MailboxError("%s:%d: %s is not an ISO 8601 time: %r" % (path, lineno, name, v[:40]))
    return v


def _flag(o, name, lineno, path):
    v = o.get(name)
    if v is not None and not isinstance(v, bool):
        raise MailboxError("%s:%d: %s is not true or false" % (path, lineno, name))
    return bool(v)


def _strings(o, name, lineno, path):
    v = o.get(name)
    if v is None:
        return ()
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise MailboxError("%s:%d: %s is not a list of strings" % (path, lineno, name))
    return tuple(v)


def _b64(data):
    return base64.b64encode(data).decode("ascii")


class Mailbox:
    """One mailbox, read-only once loaded. Lookups are dictionaries; nothing here locks."""

    def __init__(self, address, guid, source_file):
        self.address = address
        self.guid = guid                      # uuid.UUID
        self.guid_text = str(guid)
        self.source_file = source_file
        self.provider_uid = hashlib.md5(("store:" + address.lower()).encode()).digest()
        self.folders = []                     # hierarchy order (parents before children)
        self.root = None
        self.by_key = {}                      # 22-byte key -> Folder or Item
        self.by_role = {}
        self.items_total = 0

    # ---- ids -------------------------------------------------------------------------------

    def _wrap_id(self, entry_id):
        if OPAQUE_IDS is not None:
            kind, key = ("folder", entry_id[22:44]) if len(entry_id) == 46 else ("item", entry_id[46:68])
            text = _b64(b"GX" + hashlib.sha1(self.guid.bytes + entry_id).digest()[:16])
            OPAQUE_IDS[text] = (self.guid_text, kind, key)
            return text
        g = self.guid_text.encode("ascii")
        return _b64(b"\x00\x03" + struct.pack("<H", len(g)) + g + b"\x00"
                    + struct.pack("<H", len(entry_id)) + entry_id)

    def folder_entry_id(self, key):
        return b"\x00\x00\x00\x00" + self.provider_uid + struct.pack("<H", FOLDER_EID_TYPE) + key + b"\x00\x00"

    def item_entry_id(self, folder_key, key):
        return (b"\x00\x00\x00\x00" + self.provider_uid + struct.pack("<H", MESSAGE_EID_TYPE)
                + folder_key + b"\x00\x00" + key + b"\x00\x00")

    @staticmethod
    def change_key_b64(objtype, change_key):
        if OPAQUE_IDS is not None:  # a version stamp of the server's own
            return _b64(b"CK" + hashlib.sha1(change_key).digest()[:6])
        return _b64(struct.pack("<II", objtype, len(change_key)) + change_key)


def decode_id(text):
    """Returns (mailbox_guid_text, kind, key) with kind 'folder' or 'item'; raises ValueError."""
    if not text or len(text) > 512:
        raise ValueError("empty or oversized id")
    if OPAQUE_IDS is not None:
        if text not in OPAQUE_IDS:
            raise ValueError("unknown id")
        return OPAQUE_IDS[text]
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ValueError("id is not base64") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 3:
        raise ValueError("unknown id header")
    glen = struct.unpack_from("<H", raw, 2)[0]
    pos = 4 + glen
    if glen != 36 or len(raw) < pos + 3:
        raise ValueError("bad mailbox part")
    guid_text = raw[4:pos].decode("ascii", "replace")
    if raw[pos] != 0:
        raise ValueError("bad id marker")
    elen = struct.unpack_from("<H", raw, pos + 1)[0]
    eid = raw[pos + 3:]
    if len(eid) != elen:
        raise ValueError("bad entry id length")
    if elen == 46 and struct.unpack_from("<H", eid, 20)[0] == FOLDER_EID_TYPE:
        return guid_text, "folder", eid[22:44]
    if elen == 70 and struct.unpack_from("<H", eid, 20)[0] == MESSAGE_EID_TYPE:
        return guid_text, "item", eid[46:68]
    raise ValueError("unknown entry id type")


def by_prefix(cls, table, default):
    """What the first (class prefix, value) of table whose prefix starts cls (a message or
    container class, any case) gives; default when none does."""
    c = (cls or "").lower()
    for prefix, value in table:
        if c.startswith(prefix):
            return value
    return default


# The EWS element of an item by its message class, first match (a task request is no Task).
ITEM_ELEMENTS = (("ipm.appointment", "CalendarItem"), ("ipm.contact", "Contact"), ("ipm.distlist", "DistributionList"),
                 ("ipm.taskrequest", "Item"), ("ipm.task", "Task"),
                 ("ipm.schedule.meeting.request", "MeetingRequest"), ("ipm.schedule.meeting.resp", "MeetingResponse"),
                 ("ipm.schedule.meeting.canceled", "MeetingCancellation"), ("ipm.post", "PostItem"),
                 ("ipm.note", "Message"), ("report.", "Message"), ("ipm.schedule", "Message"))
# Kinds of folder by container class (the EWS servers' and the Graph server's).
FOLDER_CLASS_KINDS = (("ipf.appointment", "calendar"), ("ipf.contact", "contacts"), ("ipf.task", "tasks"))
FOLDER_ELEMENTS = {"search": "SearchFolder", "calendar": "CalendarFolder", "contacts": "ContactsFolder",
                   "tasks": "TasksFolder"}


def item_element(cls):
    """The EWS element an item of this message class is returned as."""
    return "Message" if (cls or "").lower() == "ipm" else by_prefix(cls, ITEM_ELEMENTS, "Item")


def folder_class_kind(folder):
    """'search', 'calendar', 'contacts' or 'tasks' by the folder's role and container class; None
    for any other folder."""
    if folder.role == "search":
        return "search"
    return by_prefix(folder.cls, FOLDER_CLASS_KINDS, None)


def folder_element(folder):
    return FOLDER_ELEMENTS.get(folder_class_kind(folder), "Folder")


def _change_key_type(element):
    return {"CalendarItem": 15, "Contact": 17, "DistributionList": 17, "Task": 19}.get(element, 9)


def _synth_key(mbx, what, ident):
    """A deterministic key for an object whose file line has none."""
    h = hashlib.sha256(("%s|%s|%s" % (mbx.address, what, ident)).encode()).digest()
    return mbx.guid.bytes + b"\x00\x01" + h[:4]


def _sortable_time(value):
    return value or ""


def load_mailbox(path):
    """Reads one snapshot file and returns a Mailbox. Raises MailboxError with the line number."""
    header = None
    folders = []
    items = []
    ended = False
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise MailboxError("%s:%d: not JSON: %s" % (path, lineno, e)) from None
            if not isinstance(obj, dict):
                raise MailboxError("%s:%d: not an object" % (path, lineno))
            t = obj.get("type")
            if header is None:
                if t != "snapshot" or obj.get("format") != "ostrecon-snapshot":
                    raise MailboxError("%s:%d: first line is not a snapshot header" % (path, lineno))
                header = obj
            elif t == "folder":
                folders.append((lineno, obj))
            elif t == "item":
                items.append((lineno, obj))
            elif t == "end":
                ended = True
            # error and integrity lines carry nothing a server serves
    if header is None:
        raise MailboxError("%s: empty file" % path)
    if not ended:
        raise MailboxError("%s: no end line (incomplete snapshot)" % path)
    address = header.get("mailbox")
    if not address or "@" not in address:
        raise MailboxError("%s: header has no mailbox address" % path)
    guid = header.get("mailbox_guid")
    guid = uuid.UUID(guid) if guid else uuid.uuid5(uuid.NAMESPACE_URL, "mailbox:" + address.lower())
    mbx = Mailbox(address, guid, path)

    by_src = {}
    for lineno, o in folders:
        fo = Folder()
        fo.mailbox = mbx
        fo.src_id = str(o.get("id", ""))
        if not fo.src_id or fo.src_id in by_src:
            raise MailboxError("%s:%d: folder without id or duplicate id" % (path, lineno))
        fo.parent_src = o.get("parent_id")
        fo.key = _hex(o["key"], "key", lineno) if o.get("key") else _synth_key(mbx, "folder", fo.src_id)
        if len(fo.key) != KEY_LEN:
            raise MailboxError("%s:%d: folder key is not 22 bytes" % (path, lineno))
        fo.replid = _int(o, "replid", lineno, path)
        fo.name = _str(o, "name", lineno, path) or ""
        fo.path = _str(o, "path", lineno, path)
        fo.cls = _str(o, "class", lineno, path)
        fo.role = _str(o, "role", lineno, path)
        fo.stored_total = _int(o, "content_count", lineno, path)
        fo.stored_unread = _int(o, "unread_count", lineno, path)
        fo.change_key = _hex(o["change_key"], "change_key", lineno) if o.get("change_key") else \
            hashlib.sha256(b"fck" + fo.key).digest()[:KEY_LEN]
        fo.pcl = _hex(o["pcl"], "pcl", lineno) if o.get("pcl") else None
        fo.hidden = _flag(o, "hidden", lineno, path)
        fo.children = []
        fo.items = []
        fo.assoc = []
        fo.unread = 0
        fo.parent = None
        by_src[fo.src_id] = fo
    roots = []
    for fo in by_src.values():
        if fo.parent_src is not None and fo.parent_src in by_src:
            fo.parent = by_src[fo.parent_src]
            fo.parent.children.append(fo)
        else:
            roots.append(fo)
    if not roots:
        raise MailboxError("%s: no top folder" % path)
    if len(roots) == 1:
        mbx.root = roots[0]
    else:
        # Several tops (e.g. a file with no root line): serve them under a synthetic root.
        root = Folder()
        root.mailbox, root.src_id, root.parent_src, root.parent = mbx, "\0root", None, None
        root.children, root.items, root.assoc, root.unread = roots, [], [], 0
        root.key = _synth_key(mbx, "folder", "\0root")
        root.replid, root.name, root.path, root.cls, root.role = None, "", "/", None, "root"
        root.stored_total = root.stored_unread = None
        root.change_key, root.pcl = hashlib.sha256(b"fck" + root.key).digest()[:KEY_LEN], None
        root.hidden = False
        for r in roots:
            r.parent = root
        mbx.root = root
    if mbx.root.role is None:
        mbx.root.role = "root"

    # Hierarchy order: depth-first, children in file order.
    stack = [mbx.root]
    seen = set()
    while stack:
        fo = stack.pop()
        if id(fo) in seen:
            raise MailboxError("%s: folder cycle at %s" % (path, fo.src_id))
        seen.add(id(fo))
        fo.index = len(mbx.folders)
        mbx.folders.append(fo)
        stack.extend(reversed(fo.children))
    if len(seen) != len(by_src) + (1 if mbx.root.src_id == "\0root" else 0):
        raise MailboxError("%s: folders not reachable from the top (parent cycle)" % path)
    for fo in mbx.folders:
        if fo.key in mbx.by_key:
            raise MailboxError("%s: duplicate folder key %s" % (path, fo.key.hex()))
        mbx.by_key[fo.key] = fo
        if fo.path is None:
            fo.path = "/" if fo.parent is None else (fo.parent.path.rstrip("/") + "/" + fo.name.replace("\\", "\\\\").replace("/", "\\/"))
        if fo.role and fo.role not in mbx.by_role:
            mbx.by_role[fo.role] = fo
        fo.entry_id = mbx.folder_entry_id(fo.key)
        fo.ews_id = mbx._wrap_id(fo.entry_id)
        fo.ews_ck = Mailbox.change_key_b64(1, fo.change_key)

    for lineno, o in items:
        it = Item()
        fid = str(o.get("folder_id", ""))
        fo = by_src.get(fid)
        if fo is None:
            raise MailboxError("%s:%d: item in unknown folder %r" % (path, lineno, fid))
        it.folder = fo
        it.src_id = str(o.get("id", ""))
        it.key = _hex(o["key"], "key", lineno) if o.get("key") else _synth_key(mbx, "item", it.src_id or str(lineno))
        if len(it.key) != KEY_LEN:
            raise MailboxError("%s:%d: item key is not 22 bytes" % (path, lineno))
        if it.key in mbx.by_key:
            raise MailboxError("%s:%d: duplicate key %s" % (path, lineno, it.key.hex()))
        it.replid = _int(o, "replid", lineno, path)
        it.cls = _str(o, "class", lineno, path) or "IPM.Note"
        it.subject = _str(o, "subject", lineno, path)
        it.message_id = _str(o, "message_id", lineno, path)
        it.received = _time(o, "received", lineno, path)
        it.sent = _time(o, "sent", lineno, path)
        it.created = _time(o, "created", lineno, path)
        it.modified = _time(o, "modified", lineno, path)
        flags = _int(o, "msg_flags", lineno, path)
        read = o.get("read")
        if read is not None and not isinstance(read, bool):
            raise MailboxError("%s:%d: read is not true or false" % (path, lineno))
        if read is None and flags is not None:
            read = bool(flags & 1)
        it.read = read
        it.msg_flags = flags if flags is not None else ((1 if read else 0) if read is not None else None)
        it.flag_status = _int(o, "flag_status", lineno, path)
        it.importance = _int(o, "importance", lineno, path)
        it.size = _int(o, "size", lineno, path)
        it.associated = bool(o.get("associated"))
        it.change_key = _hex(o["change_key"], "change_key", lineno) if o.get("change_key") else \
            hashlib.sha256(b"ick" + it.key + (it.modified or "").encode()).digest()[:KEY_LEN]
        it.pcl = _hex(o["pcl"], "pcl", lineno) if o.get("pcl") else None
        it.categories = _strings(o, "categories", lineno, path)
        it.entry_id = mbx.item_entry_id(fo.key, it.key)
        it.ews_id = mbx._wrap_id(it.entry_id)
        it.element = item_element(it.cls)
        it.ews_ck = Mailbox.change_key_b64(_change_key_type(it.element), it.change_key)
        mbx.by_key[it.key] = it
        if it.associated:
            it.index = len(fo.assoc)
            fo.assoc.append(it)
        else:
            it.index = len(fo.items)
            fo.items.append(it)
            if not it.read:
                fo.unread += 1
            mbx.items_total += 1
    for fo in mbx.folders:
        # FindItem's default order, as Exchange: newest received first.
        fo.find_order = sorted(fo.items, key=lambda i: (_sortable_time(i.received), -i.index), reverse=True)
    return mbx


def load_mailboxes(files, dirs):
    paths = list(files)
    for d in dirs:
        for name in sorted(os.listdir(d)):
            if name.endswith(".jsonl"):
                paths.append(os.path.join(d, name))
    boxes = {}
    by_guid = {}
    for p in paths:
        m = load_mailbox(p)
        addr = m.address.lower()
        if addr in boxes:
            raise MailboxError("%s: mailbox %s already loaded from %s" % (p, m.address, boxes[addr].source_file))
        boxes[addr] = m
        by_guid[m.guid_text] = m
    return boxes, by_guid


# ---- sync states -----------------------------------------------------------------------------

_SYNC_MAGIC = b"OSRS"
_SYNC_SALT = b"ostrecon-ewsserver-syncstate-v1"


def encode_sync_state(kind, mbx, folder_key, scope, position):
    """kind 'H' (hierarchy) or 'I' (items). Gzipped like Exchange's own states; checksummed."""
    body = (_SYNC_MAGIC + kind.encode() + mbx.guid.bytes + (folder_key or b"\0" * KEY_LEN)
            + struct.pack("<BI", scope, position))
    mac = hashlib.sha256(_SYNC_SALT + body).digest()[:8]
    return _b64(gzip.compress(body + mac, mtime=0))


def decode_sync_state(text, kind, mbx, folder_key, scope):
    """Returns the position, or raises ValueError when the state is not one of ours for this folder."""
    try:
        raw = gzip.decompress(base64.b64decode(text, validate=True))
    except Exception:
        raise ValueError("sync state is not readable") from None
    if len(raw) != 4 + 1 + 16 + KEY_LEN + 5 + 8:
        raise ValueError("sync state has a bad length")
    body, mac = raw[:-8], raw[-8:]
    if hashlib.sha256(_SYNC_SALT + body).digest()[:8] != mac or body[:4] != _SYNC_MAGIC:
        raise ValueError("sync state checksum mismatch")
    if body[4:5] != kind.encode() or body[5:21] != mbx.guid.bytes:
        raise ValueError("sync state is for another mailbox or operation")
    if body[21:43] != (folder_key or b"\0" * KEY_LEN):
        raise ValueError("sync state is for another folder")
    st_scope, position = struct.unpack_from("<BI", body, 43)
    if st_scope != scope:
        raise ValueError("sync state was made with another SyncScope")
    return position
