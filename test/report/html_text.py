#!/usr/bin/python3
"""Reads a page as Chromium dumped it (--dump-dom) and prints what a reader sees, as JSON: the text
(without scripts and styles), the summary tiles (title -> number), the section ids in order, the
folder table's column titles and rows (every cell), the classes of the folder table, and the notes
(paragraphs of class "note") in the order they come.
Usage: html_text.py DOM.html"""
import html.parser
import json
import sys


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.skip, self.sections, self.tiles = [], 0, [], {}
        self.dt = self.dd = None
        self.in_dt = self.in_dd = False
        self.table_classes = None
        self.in_folder_table = False
        self.rows, self.row, self.cell = [], None, None
        self.heads, self.head = [], None
        self.notes, self.note = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "section" and "id" in a:
            self.sections.append(a["id"])
        if tag == "dt":
            self.in_dt, self.dt = True, ""
        if tag == "dd":
            self.in_dd, self.dd = True, ""
        if tag == "table" and a.get("id") == "folder-table":
            self.table_classes = a.get("class", "").split()
            self.in_folder_table = True
        if self.in_folder_table and tag == "tr":
            self.row = []
        if self.in_folder_table and tag == "td":
            self.cell = ""
        if self.in_folder_table and tag == "th":
            self.head = ""
        if tag == "p" and "note" in a.get("class", "").split():
            self.note = ""

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        if tag == "dt":
            self.in_dt = False
        if tag == "dd":
            self.in_dd = False
            self.tiles[self.dt.strip()] = int(self.dd.strip().replace(",", ""))
        if tag == "td" and self.cell is not None and self.row is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        if tag == "th" and self.head is not None:
            self.heads.append(self.head.strip())
            self.head = None
        if tag == "p" and self.note is not None:
            self.notes.append(" ".join(self.note.split()))
            self.note = None
        if tag == "tr" and self.row:
            self.rows.append(self.row)
            self.row = None
        if tag == "table":
            self.in_folder_table = False

    def handle_data(self, data):
        if self.skip:
            return
        self.text.append(data)
        if self.in_dt:
            self.dt += data
        if self.in_dd:
            self.dd += data
        if self.cell is not None:
            self.cell += data
        if self.head is not None:
            self.head += data
        if self.note is not None:
            self.note += data


p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
print(json.dumps({"text": " ".join(" ".join(p.text).split()), "tiles": p.tiles, "sections": p.sections,
                  "table_classes": p.table_classes, "heads": p.heads, "rows": p.rows,
                  "notes": p.notes}))
