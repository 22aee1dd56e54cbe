"""Lists a .pst/.ost with pypff (libpff's Python binding): one JSON line per folder and message with
the properties the fixture tests and the benchmark look at. Usage: pff_list.py FILE [--no-messages]"""
import json
import sys

import pypff

PROPS = {0x67F4: "id_secure4", 0x65E0: "source_key", 0x65E2: "change_key", 0x65E3: "pcl",
         0x3602: "content_count", 0x3603: "unread_count", 0x3617: "assoc_count",
         0x3613: "class", 0x001A: "class", 0x0037: "subject", 0x0E06: "received",
         0x0039: "sent", 0x3007: "created", 0x3008: "modified", 0x0E07: "msg_flags",
         0x1090: "flag_status", 0x0017: "importance", 0x1035: "message_id"}
EIDS = {0x35E0, 0x35E2, 0x35E3, 0x35E4, 0x35E5, 0x35E6, 0x35E7,
        0x36D0, 0x36D1, 0x36D2, 0x36D3, 0x36D4, 0x36D7}


def props(item):
    out, eids = {}, {}
    for rs in range(item.number_of_record_sets):
        rec = item.get_record_set(rs)
        for e in range(rec.number_of_entries):
            en = rec.get_entry(e)
            t, d = en.entry_type, en.data
            if t in EIDS and d:
                eids["%04x" % t] = d.hex()
            if t not in PROPS or d is None:
                continue
            vt = en.value_type
            if vt in (0x1F,):
                v = d.decode("utf-16-le", "replace").rstrip("\0")
            elif vt in (0x03,):
                v = int.from_bytes(d[:4], "little")
            elif vt == 0x0B:
                v = bool(d[0])
            elif vt == 0x14:
                v = d[:8].hex() if PROPS[t] == "id_secure4" else int.from_bytes(d[:8], "little")
            elif vt == 0x40:
                v = int.from_bytes(d[:8], "little")
            else:
                v = d.hex()
            out[PROPS[t]] = v
    if eids:
        out["entry_ids"] = eids
    return out


def main():
    f = pypff.file()
    f.open(sys.argv[1])
    with_messages = "--no-messages" not in sys.argv
    w = sys.stdout.write
    try:
        w(json.dumps({"type": "store", **props(f.get_message_store())}) + "\n")
    except OSError:
        pass

    def walk(folder, path):
        w(json.dumps({"type": "folder", "path": path, "nid": folder.identifier,
                      "name": folder.name, **props(folder)}) + "\n")
        if with_messages:
            for i in range(folder.number_of_sub_messages):
                try:
                    m = folder.get_sub_message(i)
                    w(json.dumps({"type": "message", "path": path, "nid": m.identifier,
                                  **props(m)}) + "\n")
                except OSError as e:
                    w(json.dumps({"type": "error", "path": path, "index": i, "error": str(e)}) + "\n")
        for i in range(folder.number_of_sub_folders):
            sub = folder.get_sub_folder(i)
            walk(sub, path + [sub.name or ""])
    walk(f.get_root_folder(), [])


if __name__ == "__main__":
    main()
