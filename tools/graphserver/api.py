"""Endpoints of the test Graph server: routing, access rules, listing with $skip paging, and delta
rounds with state tokens. graphserver.py does HTTP, authentication and faults around it.

Paths are matched with segment names case-insensitive (as Graph does); ids are case-sensitive.
Keys may be given as segments (/mailFolders/{id}) or in OData's key form (/mailFolders('{id}')),
and functions as delta or delta().
"""

import re
import urllib.parse

import errors
import gids
import model
import odata
import render

E = errors

# Permissions (app roles or delegated scopes) that let a token use each part of the API.
MAIL_READ = frozenset(("Mail.Read", "Mail.ReadWrite"))
MAIL_ANY = MAIL_READ | frozenset(("Mail.ReadBasic", "Mail.ReadBasic.All"))
CALENDARS = frozenset(("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadBasic", "Calendars.ReadBasic.All"))
CONTACTS = frozenset(("Contacts.Read", "Contacts.ReadWrite"))
MBX_FOLDERS = frozenset(("MailboxFolder.Read.All", "MailboxFolder.ReadWrite.All", "MailboxFolder.Read",
                         "MailboxFolder.ReadWrite"))
MBX_ITEMS = frozenset(("MailboxItem.Read.All", "MailboxItem.ImportExport.All", "MailboxItem.Read",
                       "MailboxItem.ImportExport"))
DIRECTORY = frozenset(("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"))

RAOP_MESSAGE = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."

_KEYED = re.compile(r"^([A-Za-z][\w.]*)\((.*)\)$", re.S)
MESSAGE_FILTERS = {"receiveddatetime": ("ge", "gt", "le", "lt", "eq")}
MBX_ITEM_FILTERS = {"createddatetime": ("ge", "gt", "le", "lt", "eq")}
DELTA_FILTERS = {"receiveddatetime": ("ge", "gt")}
FOLDER_TYPE_FILTER = {"type": ("eq",)}


class Response:
    __slots__ = ("status", "pieces", "headers", "items", "folders")

    def __init__(self, status, pieces, headers=(), items=0, folders=0):
        self.status = status
        self.pieces = pieces          # str or list of str, joined once by the caller
        self.headers = list(headers)
        self.items = items
        self.folders = folders


class Route:
    """A resolved request: what to run, and for which mailbox (for faults, limits and the log)."""
    __slots__ = ("name", "addr", "run", "delta", "token_folder", "mailbox_api")

    def __init__(self, name, addr, run, delta=False, token_folder=None, mailbox_api=False):
        self.name = name
        self.addr = addr
        self.run = run
        self.delta = delta
        self.token_folder = token_folder
        self.mailbox_api = mailbox_api


def split_path(path):
    """Segments of a path below /v1.0, with OData key syntax and function calls unfolded:
    mailFolders('X') -> mailFolders, X; delta() and microsoft.graph.delta -> delta."""
    out = []
    for raw in path.split("/"):
        if raw == "":
            continue
        s = urllib.parse.unquote(raw)
        m = _KEYED.match(s)
        if m:
            name, key = m.group(1), m.group(2)
            out.append(_fn_name(name))
            if key != "":
                out.append(gids.unquote_segment(key))
        else:
            out.append(_fn_name(s))
    return out


def _fn_name(s):
    if s.lower().startswith("microsoft.graph."):
        return s[len("microsoft.graph."):]
    return s


# ---- access ---------------------------------------------------------------------------------

def check_access(ctx, addr, need, ext=False):
    """Raises GraphError unless the caller may read mailbox `addr` through `need` (a set of
    permissions); `ext`: extended properties are asked for (Mail.ReadBasic does not allow them)."""
    p = ctx.principal
    roles = set(p.get("roles") or ())
    directory = need is DIRECTORY
    user = (p.get("user") or "").lower() or None
    if user is not None:
        if user != addr.lower():
            raise E.directory_denied() if directory else E.access_denied()
        if directory and "User.Read" in roles:
            return
    if not roles & need:
        raise E.directory_denied() if directory else E.access_denied()
    if ext and need is MAIL_ANY and not roles & MAIL_READ:
        raise E.access_denied()
    if user is None and not directory:
        allowed = p.get("mailboxes")
        if allowed is not None and "*" not in allowed and addr.lower() not in {a.lower() for a in allowed}:
            raise E.access_denied()
        policy = ctx.state.access_policy.get(p.get("app"))
        if policy is not None and addr.lower() not in policy:
            raise E.GraphError(403, "ErrorAccessDenied", RAOP_MESSAGE, fault=None)


# ---- resolution -----------------------------------------------------------------------------

def resolve_user(ctx, text):
    store = ctx.store
    t = text.strip()
    low = t.lower()
    if low in store.gens:
        return low
    if low in store.by_user_id:
        return store.by_user_id[low]
    if "@" in low:
        uid = low.split("@", 1)[0]
        if uid in store.by_user_id:
            return store.by_user_id[uid]
    return None


def _folder(view, text, well_known="mail"):
    try:
        f = view.folder(text, well_known)
    except LookupError:
        raise E.GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from None
    except ValueError:
        raise E.invalid_id() from None
    if f is None:
        raise E.item_not_found()
    return f


def _item(view, f, text):
    try:
        it = view.item(text)
    except (LookupError, ValueError):
        raise E.invalid_id() from None
    if it is None or (f is not None and it.folder is not f):
        raise E.item_not_found()
    return it


def route(ctx, segs):
    """Resolves the segments below /v1.0 to a Route, or raises GraphError."""
    if not segs:
        raise E.not_found_segment("v1.0")
    s0 = segs[0].lower()
    if s0 == "me":
        user = ctx.principal.get("user")
        if not user:
            raise E.bad_request("/me request is only valid with delegated authentication flow.")
        addr = resolve_user(ctx, user)
        if addr is None and user.lower() in ctx.state.no_mailbox_users:
            raise E.GraphError(404, "MailboxNotEnabledForRESTAPI",
                               "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        if addr is None:
            raise E.invalid_user(user)
        return _user_route(ctx, addr, segs[1:], "me")
    if s0 == "users":
        if len(segs) < 2:
            raise E.bad_request("The test server serves users only one at a time: /users/{id}/...")
        addr = resolve_user(ctx, segs[1])
        rest = segs[2:]
        if addr is None and segs[1].lower() in ctx.state.no_mailbox_users:
            raise E.GraphError(404, "MailboxNotEnabledForRESTAPI",
                               "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
        if addr is None:
            if rest and rest[0].lower() == "settings":
                raise E.GraphError(404, "Request_ResourceNotFound",
                                   "Resource '%s' does not exist or one of its queried reference-property objects "
                                   "are not present." % segs[1][:200])
            raise E.invalid_user(segs[1])
        return _user_route(ctx, addr, rest, "users/" + urllib.parse.quote(segs[1], safe="@"))
    if s0 == "admin":
        if len(segs) < 4 or segs[1].lower() != "exchange" or segs[2].lower() != "mailboxes":
            raise E.not_found_segment(segs[1] if len(segs) > 1 else "admin")
        addr = ctx.store.by_mailbox_id.get(segs[3].lower())
        if addr is None:
            raise E.GraphError(404, "ResourceNotFound", "Resource could not be discovered.")
        return _mailbox_route(ctx, addr, segs[4:])
    raise E.not_found_segment(segs[0])


def _folder_tree_route(addr, rest, name, list_folders, delta, get_folder):
    """The routes mailFolders and contactFolders share: the list (list_folders(None)), its delta
    round, one folder (get_folder(ref)) and its child folders (list_folders(ref)). None for a path
    further below a folder (rest has three segments or more then)."""
    n = len(rest)
    if n == 1:
        return Route(name + "s", addr, lambda: list_folders(None))
    if n == 2 and rest[1].lower() == "delta":
        return Route(name + "s.delta", addr, delta, delta=True)
    fref = rest[1]
    if n == 2:
        return Route(name, addr, lambda: get_folder(fref), token_folder=fref)
    if n == 3 and rest[2].lower() == "childfolders":
        return Route(name + ".childFolders", addr, lambda: list_folders(fref), token_folder=fref)
    return None


def _user_route(ctx, addr, rest, upath):
    if not rest:
        raise E.bad_request("The test server does not serve the user object; use /settings/exchange, /mailFolders, "
                            "/calendars or /contactFolders.")
    r0 = rest[0].lower()
    n = len(rest)
    base = "/v1.0/%s" % upath
    if r0 == "settings":
        if n == 2 and rest[1].lower() == "exchange":
            return Route("settings", addr, lambda: exchange_settings(ctx, addr, base))
        raise E.not_found_segment(rest[1] if n > 1 else "settings")
    if r0 == "mailfolders":
        r = _folder_tree_route(addr, rest, "mailFolder", lambda f: list_mail_folders(ctx, addr, f, base),
                               lambda: mail_folder_delta(ctx, addr, base),
                               lambda f: get_mail_folder(ctx, addr, f, base))
        if r is not None:
            return r
        fref = rest[1]
        r2 = rest[2].lower()
        if r2 == "messages":
            if n == 3:
                return Route("messages", addr, lambda: list_messages(ctx, addr, fref, base), token_folder=fref)
            if n == 4 and rest[3].lower() == "delta":
                return Route("messages.delta", addr, lambda: message_delta(ctx, addr, fref, base), delta=True,
                             token_folder=fref)
            if n == 4:
                mref = rest[3]
                return Route("message", addr, lambda: get_message(ctx, addr, fref, mref), token_folder=fref)
        raise E.not_found_segment(rest[min(n - 1, 3)])
    if r0 == "messages":
        if n == 2 and rest[1].lower() != "delta":
            mref = rest[1]
            return Route("message", addr, lambda: get_message(ctx, addr, None, mref))
        raise E.bad_request("The test server lists messages per folder: /mailFolders/{id}/messages.")
    if r0 == "calendars":
        if n == 1:
            return Route("calendars", addr, lambda: list_calendars(ctx, addr, base))
        cref = rest[1]
        if n == 2:
            return Route("calendar", addr, lambda: get_calendar(ctx, addr, cref), token_folder=cref)
        if rest[2].lower() == "events" and n == 3:
            return Route("events", addr, lambda: list_events(ctx, addr, cref, base), token_folder=cref)
        raise E.not_found_segment(rest[2])
    if r0 == "contactfolders":
        r = _folder_tree_route(addr, rest, "contactFolder", lambda f: list_contact_folders(ctx, addr, f, base),
                               lambda: contact_folder_delta(ctx, addr, base),
                               lambda f: get_contact_folder(ctx, addr, f))
        if r is not None:
            return r
        fref = rest[1]
        r2 = rest[2].lower()
        if r2 == "contacts" and n == 3:
            return Route("contacts", addr, lambda: list_contacts(ctx, addr, fref, base), token_folder=fref)
        if r2 == "contacts" and n == 4 and rest[3].lower() == "delta":
            return Route("contacts.delta", addr, lambda: contact_delta(ctx, addr, fref, base), delta=True,
                         token_folder=fref)
        raise E.not_found_segment(rest[min(n - 1, 3)])
    raise E.not_found_segment(rest[0])


def _mailbox_route(ctx, addr, rest):
    base = "/v1.0/admin/exchange/mailboxes/%s" % ctx.store.current(addr).mailbox_id
    if not rest or rest[0].lower() != "folders":
        raise E.not_found_segment(rest[0] if rest else "mailboxes")
    n = len(rest)
    if n == 1:
        return Route("mbx.folders", addr, lambda: list_mbx_folders(ctx, addr, None, base), mailbox_api=True)
    if n == 2 and rest[1].lower() == "delta":
        return Route("mbx.folders.delta", addr, lambda: mbx_folder_delta(ctx, addr, None, base), delta=True,
                     mailbox_api=True)
    fref = rest[1]
    if n == 2:
        return Route("mbx.folder", addr, lambda: get_mbx_folder(ctx, addr, fref), token_folder=fref, mailbox_api=True)
    r2 = rest[2].lower()
    if r2 == "childfolders" and n == 3:
        return Route("mbx.childFolders", addr, lambda: list_mbx_folders(ctx, addr, fref, base), token_folder=fref,
                     mailbox_api=True)
    if r2 == "childfolders" and n == 4 and rest[3].lower() == "delta":
        return Route("mbx.childFolders.delta", addr, lambda: mbx_folder_delta(ctx, addr, fref, base), delta=True,
                     token_folder=fref, mailbox_api=True)
    if r2 == "items":
        if n == 3:
            return Route("mbx.items", addr, lambda: list_mbx_items(ctx, addr, fref, base), token_folder=fref,
                         mailbox_api=True)
        if n == 4 and rest[3].lower() == "delta":
            return Route("mbx.items.delta", addr, lambda: mbx_item_delta(ctx, addr, fref, base), delta=True,
                         token_folder=fref, mailbox_api=True)
        if n == 4:
            iref = rest[3]
            return Route("mbx.item", addr, lambda: get_mbx_item(ctx, addr, fref, iref), token_folder=fref,
                         mailbox_api=True)
    raise E.not_found_segment(rest[min(n - 1, 3)])


# ---- responses ------------------------------------------------------------------------------

def _q(addr):
    return urllib.parse.quote(addr, safe="")


def _ctx_url(ctx, frag):
    return "%s/v1.0/$metadata#%s" % (ctx.base, frag)


def _entity(ctx, view, renderer, obj, shape, frag, items=0, folders=0):
    text = ctx.cache.texts(view, [obj], shape)[0]
    ctx.check_folder_fault(view, obj if folders else None)
    head = '{"@odata.context":%s,' % render.dumps(_ctx_url(ctx, frag + "/$entity"))
    return Response(200, [head, text[1:]], ctx.prefer_headers(), items=items, folders=folders)


def _collection(ctx, view, objs, shape, frag, next_link=None, delta_link=None, count=None, dup=None,
                removed_entries=None):
    """A collection page; `objs` rendered through the cache; `removed_entries` are (position, text)
    pairs of @removed entries put back at their places."""
    texts = ctx.cache.texts(view, objs, shape)
    if removed_entries:
        for pos, t in removed_entries:
            texts.insert(pos, t)
    if dup is not None:
        texts = [dup] + texts
    texts = ctx.maybe_huge(texts)
    out = ['{"@odata.context":', render.dumps(_ctx_url(ctx, frag))]
    if count is not None:
        out.append(',"@odata.count":%d' % count)
    if next_link and delta_link is None and removed_entries is not None:
        out.append(',"@odata.nextLink":' + render.dumps(next_link))
    if delta_link:
        out.append(',"@odata.deltaLink":' + render.dumps(delta_link))
    out.append(',"value":[')
    out.append(",".join(texts))
    out.append("]")
    if next_link and removed_entries is None:
        out.append(',"@odata.nextLink":' + render.dumps(next_link))
    out.append("}")
    return out


def _shape(ctx, entity, q, annotate=False):
    return render.Shape(entity, q.select, q.ext, immutable=ctx.prefer.immutable and entity in (
        "message", "mailboxItem", "event", "contact"), no_source_key=ctx.state.args.no_source_key,
        annotate=annotate, extras=ctx.base if entity == "mailboxFolder" and ctx.state.args.undeclared_properties
        else None)


def _page_size(ctx, q_top, default):
    cap = ctx.state.args.max_page_size
    if q_top is not None:
        return min(q_top, cap)
    if ctx.prefer.maxpagesize:
        n = min(ctx.prefer.maxpagesize, cap)
        ctx.applied.append("odata.maxpagesize=%d" % n)
        return n
    return default


def _list(ctx, view, objs, entity, q, path, frag, items=False):
    skip = q.skip or 0
    size = _page_size(ctx, q.top, ctx.state.args.page_size)
    page = objs[skip:skip + size]
    nxt = None
    if skip + size < len(objs):
        params = [(k, v) for k, v in urllib.parse.parse_qsl(ctx.query_string, keep_blank_values=True)
                  if k.lower() != "$skip"]
        params.append(("$skip", str(skip + size)))
        nxt = "%s%s?%s" % (ctx.base, path, urllib.parse.urlencode(params))
    shape = _shape(ctx, entity, q)
    pieces = _collection(ctx, view, page, shape, frag, next_link=nxt, count=len(objs) if q.count else None)
    return Response(200, pieces, ctx.prefer_headers(), items=len(page) if items else 0,
                    folders=0 if items else len(page))


_TIME_ATTR = {"receiveddatetime": "received", "createddatetime": "created"}
_TESTS = {"ge": lambda r, v: r >= v, "gt": lambda r, v: r > v, "le": lambda r, v: r <= v,
          "lt": lambda r, v: r < v, "eq": lambda r, v: r == v}


def _filtered_items(view, f, q, items):
    """A folder's items under a $filter on receivedDateTime or createdDateTime (comparisons joined
    by `and`: every one holds) and $orderby on either, ascending or descending (cached per
    generation). An item without the property matches no comparison, as in Graph; the sort is
    stable (the collection's own order among equal times), items without the time first when
    ascending."""
    if not q.filter and not q.orderby:
        return items
    key = ("items", f, q.filter, q.orderby, id(items))

    def make():
        out = items
        for i in range(0, len(q.filter or ()), 3):
            prop, op, val = q.filter[i:i + 3]
            attr, test = _TIME_ATTR[prop], _TESTS[op]
            out = [it for it in out if getattr(it, attr) is not None and test(_utc(getattr(it, attr)), val)]
        if q.orderby:
            prop, _, direction = q.orderby.partition(" ")
            attr = _TIME_ATTR[prop.lower()]
            out = sorted(out, key=lambda it: _utc(getattr(it, attr) or ""), reverse=direction == "desc")
        return out
    return view.cached_filter(key, make)


def _misses(ctx, q, items):
    """--filter-misses N: a filtered listing leaves out the folder's every N-th item."""
    n = ctx.state.args.filter_misses
    if not n or not q.filter:
        return items
    return [it for it in items if it.index % n != 0]


def _utc(t):
    """Snapshot times are ISO 8601 (Z or an offset): made comparable as UTC text."""
    if not t or t.endswith("Z") and len(t) == 20:
        return t
    p = odata.parse_time(t)
    return p.astimezone(__import__("datetime").timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if p else t


# ---- exchange settings ----------------------------------------------------------------------

def exchange_settings(ctx, addr, base):
    check_access(ctx, addr, DIRECTORY)
    odata.parse(ctx.query_string, "exchangeSettings", ())
    view = ctx.store.current(addr)
    body = render.dumps({"@odata.context": _ctx_url(ctx, "users('%s')/settings/exchange/$entity" % _q(addr)),
                         "id": view.user_id, "primaryMailboxId": view.mailbox_id})
    return Response(200, body)


# ---- mail API -------------------------------------------------------------------------------

LIST_OPTS = ("$select", "$expand", "$top", "$skip", "$count")


def list_mail_folders(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "mailFolder", LIST_OPTS + ("includehiddenfolders",))
    check_access(ctx, addr, MAIL_ANY, ext=q.ext is not None)
    view = ctx.store.current(addr)
    if fref is None:
        objs = view.mail_top(q.hidden)
        path = base + "/mailFolders"
    else:
        f = _folder(view, fref)
        if not view.is_mail_folder(f):
            raise E.item_not_found()
        ctx.check_folder_fault(view, f)
        objs = view.mail_children(f, q.hidden)
        path = base + "/mailFolders/%s/childFolders" % urllib.parse.quote(fref, safe="")
    return _list(ctx, view, objs, "mailFolder", q, path, "users('%s')/mailFolders" % _q(addr))


def get_mail_folder(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "mailFolder", ("$select", "$expand"))
    check_access(ctx, addr, MAIL_ANY, ext=q.ext is not None)
    view = ctx.store.current(addr)
    f = _folder(view, fref)
    if not view.is_mail_folder(f):
        raise E.item_not_found()
    return _entity(ctx, view, render.mail_folder, f, _shape(ctx, "mailFolder", q),
                   "users('%s')/mailFolders" % _q(addr), folders=1)


def list_messages(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "message", LIST_OPTS + ("$filter", "$orderby"), MESSAGE_FILTERS,
                    conjunction=True)
    check_access(ctx, addr, MAIL_ANY, ext=q.ext is not None)
    view = ctx.store.current(addr)
    f = _folder(view, fref)
    if not view.is_mail_folder(f):
        raise E.item_not_found()
    ctx.check_folder_fault(view, f)
    items = _misses(ctx, q, _filtered_items(view, f, q, f.find_order))
    path = base + "/mailFolders/%s/messages" % urllib.parse.quote(fref, safe="")
    return _list(ctx, view, items, "message", q, path, "users('%s')/mailFolders('%s')/messages"
                 % (_q(addr), view.fid[f]), items=True)


def get_message(ctx, addr, fref, mref):
    q = odata.parse(ctx.query_string, "message", ("$select", "$expand"))
    check_access(ctx, addr, MAIL_ANY, ext=q.ext is not None)
    view = ctx.store.current(addr)
    f = _folder(view, fref) if fref is not None else None
    it = _item(view, f, mref)
    ctx.check_folder_fault(view, it.folder)
    return _entity(ctx, view, render.message, it, _shape(ctx, "message", q), "users('%s')/messages" % _q(addr), items=1)


def mail_folder_delta(ctx, addr, base):
    return _delta(ctx, addr, "mailFolders", None, "mailFolder", ("$select", "$expand", "$top"), None,
                  lambda v, f: v.mail_folders, model.folder_fingerprint,
                  base + "/mailFolders/delta", MAIL_ANY, "mailFolder")


def message_delta(ctx, addr, fref, base):
    view = ctx.store.current(addr)
    f = _folder(view, fref)
    if not view.is_mail_folder(f):
        raise E.item_not_found()
    path = base + "/mailFolders('%s')/messages/delta" % view.fid[f]
    return _delta(ctx, addr, "messages", f, "message",
                  ("$select", "$expand", "$top", "$filter", "$orderby", "changetype"), DELTA_FILTERS,
                  lambda v, g: g.items, model.item_fingerprint, path, MAIL_ANY, "message")


# ---- calendars and contacts -----------------------------------------------------------------

def list_calendars(ctx, addr, base):
    q = odata.parse(ctx.query_string, "calendar", LIST_OPTS)
    check_access(ctx, addr, CALENDARS)
    view = ctx.store.current(addr)
    return _list(ctx, view, view.calendars, "calendar", q, base + "/calendars", "users('%s')/calendars" % _q(addr))


def _calendar(view, cref):
    f = _folder(view, cref, well_known=None)
    if f not in view.calendars:
        raise E.item_not_found()
    return f


def get_calendar(ctx, addr, cref):
    q = odata.parse(ctx.query_string, "calendar", ("$select", "$expand"))
    check_access(ctx, addr, CALENDARS)
    view = ctx.store.current(addr)
    f = _calendar(view, cref)
    return _entity(ctx, view, render.calendar, f, _shape(ctx, "calendar", q), "users('%s')/calendars" % _q(addr),
                   folders=1)


def list_events(ctx, addr, cref, base):
    q = odata.parse(ctx.query_string, "event", LIST_OPTS)
    check_access(ctx, addr, CALENDARS)
    view = ctx.store.current(addr)
    f = _calendar(view, cref)
    ctx.check_folder_fault(view, f)
    path = base + "/calendars/%s/events" % urllib.parse.quote(cref, safe="")
    return _list(ctx, view, f.items, "event", q, path, "users('%s')/calendars('%s')/events" % (_q(addr), view.fid[f]),
                 items=True)


def _contact_folder(view, fref):
    f = _folder(view, fref, well_known=None)
    if f not in view.contact_folders:
        raise E.item_not_found()
    return f


def list_contact_folders(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "contactFolder", LIST_OPTS)
    check_access(ctx, addr, CONTACTS, ext=q.ext is not None)
    view = ctx.store.current(addr)
    if fref is None:
        objs = view.contact_folders
        path = base + "/contactFolders"
    else:
        f = _contact_folder(view, fref)
        objs = [c for c in f.children if c in view.contact_folders]
        path = base + "/contactFolders/%s/childFolders" % urllib.parse.quote(fref, safe="")
    return _list(ctx, view, objs, "contactFolder", q, path, "users('%s')/contactFolders" % _q(addr))


def get_contact_folder(ctx, addr, fref):
    q = odata.parse(ctx.query_string, "contactFolder", ("$select", "$expand"))
    check_access(ctx, addr, CONTACTS, ext=q.ext is not None)
    view = ctx.store.current(addr)
    f = _contact_folder(view, fref)
    return _entity(ctx, view, render.contact_folder, f, _shape(ctx, "contactFolder", q),
                   "users('%s')/contactFolders" % _q(addr), folders=1)


def list_contacts(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "contact", LIST_OPTS)
    check_access(ctx, addr, CONTACTS, ext=q.ext is not None)
    view = ctx.store.current(addr)
    f = _contact_folder(view, fref)
    ctx.check_folder_fault(view, f)
    path = base + "/contactFolders/%s/contacts" % urllib.parse.quote(fref, safe="")
    return _list(ctx, view, view.contacts(f), "contact", q, path,
                 "users('%s')/contactFolders('%s')/contacts" % (_q(addr), view.fid[f]), items=True)


def contact_folder_delta(ctx, addr, base):
    return _delta(ctx, addr, "contactFolders", None, "contactFolder", ("$select", "$expand"), None,
                  lambda v, f: v.contact_folders, model.folder_fingerprint,
                  base + "/contactFolders/delta", CONTACTS, "contactFolder")


def contact_delta(ctx, addr, fref, base):
    view = ctx.store.current(addr)
    f = _contact_folder(view, fref)
    path = base + "/contactFolders('%s')/contacts/delta" % view.fid[f]
    return _delta(ctx, addr, "contacts", f, "contact", ("$select", "$expand", "$top"), None,
                  lambda v, g: v.contacts(g), model.item_fingerprint, path, CONTACTS, "contact")


# ---- the mailbox API ------------------------------------------------------------------------

def _mbx_folder(view, fref):
    return _folder(view, fref, well_known="all")


def list_mbx_folders(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "mailboxFolder", LIST_OPTS + ("$filter",), FOLDER_TYPE_FILTER)
    check_access(ctx, addr, MBX_FOLDERS)
    view = ctx.store.current(addr)
    if fref is None:
        objs = view.msgroot.children
        path = base + "/folders"
    else:
        f = _mbx_folder(view, fref)
        ctx.check_folder_fault(view, f)
        objs = f.children
        path = base + "/folders/%s/childFolders" % urllib.parse.quote(fref, safe="")
    if q.filter:
        want = q.filter[2].lower()
        objs = [f for f in objs if (f.cls or "").lower() == want]
    return _list(ctx, view, objs, "mailboxFolder", q, path, "admin/exchange/mailboxes('%s')/folders" % view.mailbox_id)


def get_mbx_folder(ctx, addr, fref):
    q = odata.parse(ctx.query_string, "mailboxFolder", ("$select", "$expand"))
    check_access(ctx, addr, MBX_FOLDERS)
    view = ctx.store.current(addr)
    f = _mbx_folder(view, fref)
    return _entity(ctx, view, render.mailbox_folder, f, _shape(ctx, "mailboxFolder", q),
                   "admin/exchange/mailboxes('%s')/folders" % view.mailbox_id, folders=1)


def list_mbx_items(ctx, addr, fref, base):
    q = odata.parse(ctx.query_string, "mailboxItem", LIST_OPTS + ("$filter", "$orderby"), MBX_ITEM_FILTERS,
                    orderby=("createdDateTime",), conjunction=True)
    check_access(ctx, addr, MBX_ITEMS)
    view = ctx.store.current(addr)
    f = _mbx_folder(view, fref)
    ctx.check_folder_fault(view, f)
    path = base + "/folders/%s/items" % urllib.parse.quote(fref, safe="")
    return _list(ctx, view, _misses(ctx, q, _filtered_items(view, f, q, f.items)), "mailboxItem", q, path, "admin/exchange/mailboxes('%s')/folders('%s')/items"
                 % (view.mailbox_id, view.fid[f]), items=True)


def get_mbx_item(ctx, addr, fref, iref):
    q = odata.parse(ctx.query_string, "mailboxItem", ("$select", "$expand"))
    check_access(ctx, addr, MBX_ITEMS)
    view = ctx.store.current(addr)
    f = _mbx_folder(view, fref)
    it = _item(view, f, iref)
    ctx.check_folder_fault(view, f)
    return _entity(ctx, view, render.mailbox_item, it, _shape(ctx, "mailboxItem", q),
                   "admin/exchange/mailboxes('%s')/folders('%s')/items" % (view.mailbox_id, view.fid[f]), items=1)


def mbx_folder_delta(ctx, addr, fref, base):
    if fref is None:
        return _delta(ctx, addr, "mbxFolders", None, "mailboxFolder", ("$select", "$expand", "$top"), None,
                      lambda v, f: v.mbx.folders, model.folder_fingerprint,
                      base + "/folders/delta", MBX_FOLDERS, "mailboxFolder")
    view = ctx.store.current(addr)
    f = _mbx_folder(view, fref)
    return _delta(ctx, addr, "mbxChildFolders", f, "mailboxFolder", ("$select", "$expand", "$top"), None,
                  lambda v, g: v.descendants(g), model.folder_fingerprint,
                  base + "/folders/%s/childFolders/delta" % view.fid[f], MBX_FOLDERS, "mailboxFolder")


def mbx_item_delta(ctx, addr, fref, base):
    view = ctx.store.current(addr)
    f = _mbx_folder(view, fref)
    return _delta(ctx, addr, "mbxItems", f, "mailboxItem",
                  ("$select", "$expand", "$top", "$filter", "$orderby"), DELTA_FILTERS,
                  lambda v, g: g.items, model.item_fingerprint,
                  base + "/folders/%s/items/delta" % view.fid[f], MBX_ITEMS, "mailboxItem")


# ---- delta rounds ---------------------------------------------------------------------------

def _delta(ctx, addr, kind, folder, entity, allowed, filters, objs_of, fingerprint, path, need, ctx_entity):
    """One page of a delta round. `objs_of(view, folder_in_that_view)` lists the collection in a
    generation; tokens carry the generation(s), the position and the query options."""
    st = ctx.state
    q = odata.parse(ctx.query_string, entity, allowed + ("$skiptoken", "$deltatoken"), filters)
    token = q.skiptoken if q.skiptoken is not None else q.deltatoken
    if token == "" and q.deltatoken == "":
        token = None    # an empty $deltatoken starts a new round (the Location of a resyncRequired)
    view = ctx.store.current(addr)
    fkey = folder.key.hex() if folder is not None else ""
    if token is not None:
        try:
            tok = odata.read_token(token)
        except (ValueError, TypeError):
            raise E.sync_state_invalid() from None
        want = "S" if q.skiptoken is not None else "D"
        if tok.get("t") != want or tok.get("k") != kind or tok.get("m") != view.guid or tok.get("f") != fkey:
            raise E.sync_state_invalid()
        if q.has_options() and q.options() != odata.Query.from_options(tok.get("q") or {}).options():
            raise E.bad_request("Query options cannot change within a delta round: follow the links as given.")
        q = odata.Query.from_options(tok.get("q") or {})
        ctx.token_use(view, folder, "%s%s?$deltatoken=" % (ctx.base, path))
        if want == "D":
            g0, g1, pos, n, pg = tok["b"], view.gen, 0, 0, 0
        else:
            g0, g1, pos, n, pg = tok["a"], tok["b"], tok["p"], tok["n"], tok["pg"]
    else:
        g0, g1, pos, n, pg = -1, view.gen, 0, 0, 0
    check_access(ctx, addr, need, ext=q.ext is not None)
    if q.ext is not None and st.args.expand_on_delta_fails:
        raise E.GraphError(500, "InternalServerError", "Value cannot be null.\r\nParameter name: type",
                           fault="expand-on-delta")
    if ctx.state.quota_exceeded(addr):
        raise E.GraphError(403, "ErrorQuotaExceeded", "The mailbox has exceeded its quota.", fault="quota")
    new = ctx.store.generation(addr, g1)
    old = ctx.store.generation(addr, g0) if g0 >= 0 else None
    highest = view.gen
    if new is None or (g0 >= 0 and old is None):
        raise E.sync_state_gone(g1 if new is None else g0, highest)
    fnew = new.by_key.get(folder.key) if folder is not None else None
    if folder is not None and fnew is None:
        raise E.item_not_found()
    if folder is not None:
        ctx.check_folder_fault(new, fnew)
    if old is None:
        objs = objs_of(new, fnew)
        if q.filter or q.orderby:
            objs = _filtered_items(new, fnew, q, objs)
        entries = objs if q.change_type in (None, "created") else []
        changes = None
    else:
        fold = old.by_key.get(folder.key) if folder is not None else None
        old_objs = objs_of(old, fold) if (folder is None or fold is not None) else []
        new_objs = objs_of(new, fnew)
        if q.filter:
            old_objs = _filtered_items(old, fold, q, old_objs) if fold is not None else []
            new_objs = _filtered_items(new, fnew, q, new_objs)
        changes = ctx.store.changes((kind, fkey, q.filter), old, new, old_objs, new_objs, fingerprint)
        if q.change_type:
            want = {"created": "created", "updated": "updated", "deleted": "removed"}[q.change_type]
            changes = [c for c in changes if c[0] == want]
        entries = changes
    size = _page_size(ctx, None, st.args.delta_page_size)
    if q.top is not None:
        size = max(0, min(size, q.top - n))
    page = entries[pos:pos + size]
    dup = None
    shape = _shape(ctx, ctx_entity, q, annotate=True)
    if st.args.duplicate_every and (pg + 1) % st.args.duplicate_every == 0 and pos > 0 and page:
        prev = entries[pos - 1]
        pobj = prev[1] if changes is not None else prev
        if changes is None or prev[0] != "removed":
            dup = ctx.cache.texts(new, [pobj], shape)[0]
            ctx.duplicates += 1
    pos2 = pos + len(page)
    n2 = n + len(page)
    done = pos2 >= len(entries) or (q.top is not None and n2 >= q.top)
    opts = q.options()
    base_tok = {"v": 1, "k": kind, "m": view.guid, "f": fkey, "q": opts}
    if done:
        link = "%s%s?$deltatoken=%s" % (ctx.base, path, odata.make_token(dict(base_tok, t="D", b=g1)))
        nxt, dl = None, link
    else:
        link = "%s%s?$skiptoken=%s" % (ctx.base, path, odata.make_token(
            dict(base_tok, t="S", a=g0, b=g1, p=pos2, n=n2, pg=pg + 1)))
        nxt, dl = link, None
    if changes is None:
        objs = page
        removed_entries = []
    else:
        objs = [o for c, o in page if c != "removed"]
        removed_entries = [(i, render.dumps(render.removed(old, o, shape, "deleted")))
                           for i, (c, o) in enumerate(page) if c == "removed"]
    frag = "Collection(%s)" % ctx_entity
    pieces = _collection(ctx, new, objs, shape, frag, next_link=nxt, delta_link=dl, dup=dup,
                         removed_entries=removed_entries)
    is_items = ctx_entity in ("message", "mailboxItem", "contact", "event")
    cnt = len(page) + (1 if dup else 0)
    return Response(200, pieces, ctx.prefer_headers(), items=cnt if is_items else 0, folders=0 if is_items else cnt)
