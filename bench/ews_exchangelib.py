#!/usr/bin/python3
"""Benchmark peer: Debian's exchangelib pulls the same ids and properties `ostrecon server` pulls
(every folder; per item: id, class, subject, dates, size, read state, message id, importance, and
the extended properties 0x65E0, 0x65E2, 0x65E3, 0x0E07, 0x1090). Prints folders, items, seconds.
Usage: ews_exchangelib.py URL MAILBOX USER PASSWORD-FILE"""
import sys
import time
import warnings

warnings.filterwarnings("ignore")
from exchangelib import (BASIC, DELEGATE, Account, Build, Configuration, Credentials,  # noqa: E402
                         ExtendedProperty, Version)
from exchangelib.items import CalendarItem, Contact, Message, MeetingRequest, PostItem, Task  # noqa: E402


def ext(tag, kind):
    return type("P%04X" % tag, (ExtendedProperty,), {"property_tag": tag, "property_type": kind})


PROPS = {"source_key": ext(0x65E0, "Binary"), "change_key_prop": ext(0x65E2, "Binary"),
         "pcl": ext(0x65E3, "Binary"), "msg_flags": ext(0x0E07, "Integer"), "flag_status": ext(0x1090, "Integer")}
FIELDS = ["id", "item_class", "subject", "datetime_received", "datetime_sent", "datetime_created",
          "last_modified_time", "size", "importance"] + list(PROPS)


def main():
    url, mailbox, user, pwfile = sys.argv[1:5]
    password = open(pwfile).readline().strip()
    for cls in (Message, CalendarItem, Contact, Task, PostItem, MeetingRequest):
        for name, prop in PROPS.items():
            cls.register(name, prop)
    t0 = time.time()
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                           version=Version(build=Build(15, 1, 2507, 6)), max_connections=4)
    acct = Account(primary_smtp_address=mailbox, config=config, autodiscover=False, access_type=DELEGATE)
    folders = items = 0
    for f in acct.root.walk():
        folders += 1
        if f.folder_class and "Search" in type(f).__name__:
            continue
        try:
            for _ in f.all().only(*[x for x in FIELDS if x != "id"]).iterator() if hasattr(f.all(), "iterator") \
                    else f.all().only(*[x for x in FIELDS if x != "id"]):
                items += 1
        except Exception as e:  # a folder type without these fields
            print("folder %s: %s" % (f.name, e), file=sys.stderr)
    print("exchangelib: %d folders, %d items, %.1f s" % (folders, items, time.time() - t0))


main()
