"""The Graph view of the mailboxes of tools/ewsserver/mailbox.py: which folders each API lists,
well-known names, ids, generations (--advance-to) and the changes between two generations.

A mailbox is served as a list of generations: the file given with --mailbox is generation 0 and
each --advance-to file of the same address is the next one. Tokens name the generation they were
made in, so a delta link of an earlier round returns what changed since (created, updated,
removed), while the round in flight keeps paging over the generation it started in.
"""

import threading

import gids
import mailbox as mb

# Well-known folder names Graph's mail API accepts in place of a folder id (they are the
# snapshot's roles, the EWS distinguished names, for the folders that have one).
MAIL_WELL_KNOWN = frozenset((
    "archive", "clutter", "conflicts", "conversationhistory", "deleteditems", "drafts", "inbox",
    "junkemail", "localfailures", "msgfolderroot", "outbox", "recoverableitemsdeletions", "scheduled",
    "searchfolders", "sentitems", "serverfailures", "syncissues"))


def folder_kind(f):
    """'mail', 'calendar', 'contacts', 'tasks', 'search' or 'other' (notes, journal, configuration)."""
    kind = mb.folder_class_kind(f)
    if kind:
        return kind
    c = (f.cls or "").lower()
    if c in ("", "ipf") or c.startswith("ipf.note") or c.startswith("ipf.imap"):
        return "mail"
    return "other"


MESSAGE_TYPES = (
    ("ipm.schedule.meeting.request",
     ("eventMessageRequest", "meetingRequest", (("meetingRequestType", "newMeetingRequest"),))),
    ("ipm.schedule.meeting.canceled", ("eventMessage", "meetingCancelled", ())),
    ("ipm.schedule.meeting.resp.pos", ("eventMessageResponse", "meetingAccepted", (("responseType", "accepted"),))),
    ("ipm.schedule.meeting.resp.tent",
     ("eventMessageResponse", "meetingTenativelyAccepted", (("responseType", "tentativelyAccepted"),))),
    ("ipm.schedule.meeting.resp.neg", ("eventMessageResponse", "meetingDeclined", (("responseType", "declined"),))))


def message_type(cls):
    """(@odata.type name, meetingMessageType, extra properties) of an item served as a message."""
    return mb.by_prefix(cls, MESSAGE_TYPES, ("message", None, ()))


class View:
    """One generation of one mailbox, read-only once built."""

    def __init__(self, mbx, gen, tenant):
        self.mbx = mbx
        self.gen = gen
        self.address = mbx.address
        self.guid = mbx.guid_text
        self.user_id = gids.user_id(mbx.address)
        self.tenant = tenant
        self.mailbox_id = gids.mailbox_id(mbx.guid_text, tenant)
        self.root = mbx.root
        self.msgroot = mbx.by_role.get("msgfolderroot") or mbx.root
        self.fid = {}            # Folder -> REST id
        self.kind = {}
        self.ipm = set()         # folders strictly below the IPM subtree's top
        self.by_key = mbx.by_key
        for f in mbx.folders:    # parents before children
            self.fid[f] = gids.rest_from_ews(f.ews_id)
            self.kind[f] = folder_kind(f)
            if f.parent is not None and (f.parent is self.msgroot or f.parent in self.ipm):
                self.ipm.add(f)
        self.iid = {}            # Item -> REST id
        for f in mbx.folders:
            for it in f.items:
                self.iid[it] = gids.rest_from_ews(it.ews_id)
        folders = mbx.folders
        self.mail_folders = [f for f in folders if f in self.ipm and self.kind[f] == "mail"]
        self.calendars = [f for f in folders if f in self.ipm and self.kind[f] == "calendar"]
        self.contact_folders = [f for f in folders if f in self.ipm and self.kind[f] == "contacts"]
        self._lock = threading.Lock()
        self._filtered = {}

    # ---- lookups -------------------------------------------------------------------------

    def folder(self, text, well_known="mail"):
        """A folder by REST/EWS id or well-known name ('mail': the mail API's names, 'all': every
        distinguished folder name, None: ids only); None when there is none. Raises ValueError for an
        id that is not one, LookupError for an item id."""
        names = MAIL_WELL_KNOWN if well_known == "mail" else mb.DISTINGUISHED_NAMES if well_known == "all" else ()
        if text.lower() in names:
            return self.mbx.by_role.get(text.lower())
        kind, key, guid = gids.decode_id(text)
        if kind != "folder":
            raise LookupError("item id where a folder id goes")
        if guid != self.guid:
            return None
        obj = self.by_key.get(key)
        return obj if isinstance(obj, mb.Folder) else None

    def item(self, text):
        """An item by REST, EWS or immutable id; None when there is none. Raises ValueError/LookupError."""
        kind, key, guid = gids.decode_id(text)
        if kind == "folder":
            raise LookupError("folder id where an item id goes")
        if guid is not None and guid != self.guid:
            return None
        obj = self.by_key.get(key)
        return obj if isinstance(obj, mb.Item) and not obj.associated else None

    def is_mail_folder(self, f):
        """Folders the mail API serves: mail folders of the IPM subtree, search folders, and the
        folders reachable by a well-known name (msgfolderroot, recoverableitemsdeletions, ...)."""
        if f in self.ipm and self.kind[f] == "mail":
            return True
        if self.kind[f] == "search":
            return True
        return f.role in MAIL_WELL_KNOWN

    def mail_children(self, f, hidden):
        if self.kind[f] == "search" or f.role == "searchfolders":
            return [c for c in f.children if self.kind[c] == "search"]
        return [c for c in f.children if c in self.ipm and self.kind[c] == "mail" and (hidden or not c.hidden)]

    def mail_top(self, hidden):
        return self.mail_children(self.msgroot, hidden)

    def contacts(self, f):
        """Contacts as Graph lists them: distribution lists are not contacts."""
        return self.cached_filter(("contacts", f), lambda: [
            it for it in f.items if (it.cls or "").lower().startswith("ipm.contact")])

    def descendants(self, f):
        return self.cached_filter(("desc", f), lambda: _descendants(f))

    def cached_filter(self, key, make):
        with self._lock:
            got = self._filtered.get(key)
        if got is None:
            got = make()
            with self._lock:
                if len(self._filtered) > 4096:   # bounded: filters come from requests
                    self._filtered.clear()
                self._filtered[key] = got
        return got


def _descendants(f):
    out = []
    stack = list(reversed(f.children))
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(reversed(c.children))
    return out


# ---- changes between generations -------------------------------------------------------------

def folder_fingerprint(f):
    return (f.name, f.parent.key if f.parent else None, f.cls, f.role, f.total(), f.unread_count(),
            f.change_key, f.pcl, f.hidden, len(f.children))


def item_fingerprint(it):
    return (it.change_key, it.pcl, it.cls, it.subject, it.message_id, it.received, it.sent, it.created,
            it.modified, it.read, it.msg_flags, it.flag_status, it.importance, it.size, it.categories)


def diff(old_objs, new_objs, fingerprint):
    """Changes from one list of objects to another, matched by source key: a list of
    (change, object) with change 'removed' (the old object), 'created' or 'updated' (the new one);
    removals first, then the new list's order."""
    old = {o.key: o for o in old_objs}
    new_keys = set()
    out = []
    for o in new_objs:
        new_keys.add(o.key)
    for o in old_objs:
        if o.key not in new_keys:
            out.append(("removed", o))
    for o in new_objs:
        prev = old.get(o.key)
        if prev is None:
            out.append(("created", o))
        elif fingerprint(prev) != fingerprint(o):
            out.append(("updated", o))
    return out


class Store:
    """Every mailbox with its generations. The current generation of a mailbox changes only by
    advance(); everything else reads."""

    def __init__(self, boxes, later, tenant_of):
        self.lock = threading.Lock()
        self.gens = {}          # address (lower) -> [View, ...]
        self.cur = {}           # address (lower) -> index of the current generation
        self.pending = {}       # address (lower) -> [Mailbox, ...] not yet served
        self.tenant_of = tenant_of
        for addr, m in boxes.items():
            self.gens[addr] = [View(m, 0, tenant_of(m.address))]
            self.cur[addr] = 0
        for m in later:
            addr = m.address.lower()
            if addr not in self.gens:
                raise mb.MailboxError("%s: --advance-to names mailbox %s, which no --mailbox serves"
                                      % (m.source_file, m.address))
            if m.guid_text != self.gens[addr][0].guid:
                raise mb.MailboxError("%s: mailbox GUID differs from the first snapshot of %s"
                                      % (m.source_file, m.address))
            self.pending.setdefault(addr, []).append(m)
        self._index()
        self._diffs = {}

    def _index(self):
        self.by_guid = {}
        self.by_user_id = {}
        self.by_mailbox_id = {}
        for addr, gl in self.gens.items():
            v = gl[0]
            self.by_guid[v.guid] = addr
            self.by_user_id[v.user_id] = addr
            self.by_mailbox_id[v.mailbox_id.lower()] = addr

    def current(self, addr):
        addr = addr.lower()
        with self.lock:
            return self.gens[addr][self.cur[addr]]

    def generation(self, addr, gen):
        """The view of a generation still held, or None."""
        with self.lock:
            gl = self.gens[addr.lower()]
            return gl[gen] if 0 <= gen < len(gl) and gen <= self.cur[addr.lower()] else None

    def advance(self, addr=None):
        """Switches the named mailbox (or every one with a later snapshot) to its next snapshot.
        Returns {address: new generation}."""
        done = {}
        with self.lock:
            targets = [addr.lower()] if addr else list(self.pending)
            for a in targets:
                queue = self.pending.get(a)
                if not queue:
                    continue
                m = queue.pop(0)
                gl = self.gens[a]
                gl.append(View(m, len(gl), gl[0].tenant))
                self.cur[a] = len(gl) - 1
                done[self.gens[a][0].address] = self.cur[a]
        return done

    def changes(self, key, old_view, new_view, old_objs, new_objs, fingerprint):
        """diff() of two generations, computed once per (key, generations)."""
        ck = (key, old_view.address.lower(), old_view.gen, new_view.gen)
        with self.lock:
            got = self._diffs.get(ck)
        if got is None:
            got = diff(old_objs, new_objs, fingerprint)
            with self.lock:
                if len(self._diffs) > 4096:
                    self._diffs.clear()
                self._diffs[ck] = got
        return got
