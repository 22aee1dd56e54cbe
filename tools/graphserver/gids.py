"""Identifiers of the test Graph server: REST ids, immutable ids, change keys, mailbox and user
ids. Layouts and where they were checked: docs/GRAPH_SERVER.md, "Ids".

A REST id is the EWS id of tools/ewsserver (the same bytes: 00 03, the mailbox GUID, the MAPI
entry id) in base64 with Graph's alphabet for ids: '+' written '_' and '/' written '-' (the
reverse of RFC 4648's base64url), padding kept; so both servers name an object alike and a
client can read the 22-byte source key from the last 24 bytes of the entry id. An immutable id
(Prefer: IdType="ImmutableId", messages and items only) is
    00 09 00 | u16le 46 | 4 zero bytes | fixed 16-byte provider UID | u16le 0x000D
    | 22-byte source key | 00 00
in the same alphabet, and does not change when the item moves to another folder.
"""

import base64
import struct
import urllib.parse
import uuid

import mailbox as mb

KEY_LEN = mb.KEY_LEN
# The 16 bytes every immutable id of Microsoft's documentation carries there (decoded with Graph's
# id alphabet they belong to the 11cd-9bc8-00aa002fc45a family of MAPI's provider UIDs).
IMMUTABLE_UID = bytes.fromhex("1d840311aa6611cd9bc800aa002fc45a")
IMMUTABLE_TYPE = 0x000D
IMMUTABLE_LEN = 46


def to_graph_alphabet(b64):
    """Standard base64 in the alphabet of Graph ids: '+' -> '_', '/' -> '-'."""
    return b64.replace("+", "_").replace("/", "-")


def rest_from_ews(ews_id):
    """The REST form of an EWS id (same bytes, Graph's id alphabet, padding kept)."""
    return to_graph_alphabet(ews_id)


def immutable_id(key):
    raw = (b"\x00\x09\x00" + struct.pack("<H", IMMUTABLE_LEN) + b"\x00\x00\x00\x00" + IMMUTABLE_UID
           + struct.pack("<H", IMMUTABLE_TYPE) + key + b"\x00\x00")
    return to_graph_alphabet(base64.b64encode(raw).decode("ascii"))


def _b64any(text):
    """Decodes an id in Graph's alphabet or in standard base64, padding optional. Raises ValueError."""
    if not text or len(text) > 1024:
        raise ValueError("empty or oversized id")
    t = text.replace("_", "+").replace("-", "/").rstrip("=")
    t += "=" * (-len(t) % 4)
    try:
        return base64.b64decode(t, validate=True)
    except (ValueError, TypeError):
        raise ValueError("id is not base64") from None


def decode_id(text):
    """Returns (kind, key, mailbox_guid_text) for a REST id, an EWS id or an immutable id;
    kind is 'folder', 'item' or 'immutable' (mailbox_guid_text is None for immutable ids).
    Raises ValueError for anything else."""
    raw = _b64any(text)
    if len(raw) == 5 + IMMUTABLE_LEN and raw[:3] == b"\x00\x09\x00":
        if struct.unpack_from("<H", raw, 3)[0] != IMMUTABLE_LEN or raw[5:9] != b"\x00" * 4 \
                or raw[9:25] != IMMUTABLE_UID or struct.unpack_from("<H", raw, 25)[0] != IMMUTABLE_TYPE:
            raise ValueError("not an immutable id")
        return "immutable", raw[27:27 + KEY_LEN], None
    guid, kind, key = mb.decode_id(base64.b64encode(raw).decode("ascii"))
    return kind, key, guid


def change_key(objtype, ck):
    """Graph's changeKey: the EWS ChangeKey (u32le type, u32le length, PR_CHANGE_KEY), standard base64."""
    return mb.Mailbox.change_key_b64(objtype, ck)


def bare_change_key(ck):
    """The changeKey of calendars and events: the 22-byte change key alone, standard base64."""
    return base64.b64encode(ck).decode("ascii")


def user_id(address):
    """The stable directory object id the server gives the user of a mailbox."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "graph-user:" + address.lower()))


def tenant_id(address):
    """The tenant a mailbox belongs to when no identity configuration names one: one per domain."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "graph-tenant:" + address.split("@", 1)[-1].lower()))


def mailbox_id(mailbox_guid, tenant):
    """exchangeSettings.primaryMailboxId and the {mailboxId} of /admin/exchange/mailboxes."""
    return "MBX:%s@%s" % (mailbox_guid, tenant)


def unquote_segment(seg):
    """A path segment as the client meant it: percent-decoded, with OData's key forms
    ('...') and ("...") stripped of their quotes."""
    s = urllib.parse.unquote(seg)
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        s = s[1:-1].replace("''", "'")
    return s
