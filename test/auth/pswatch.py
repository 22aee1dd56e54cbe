#!/usr/bin/python3
"""Runs a command and, while it runs, reads the command line of every process on the machine
(/proc/*/cmdline) and the command's own environment, looking for a secret.
Usage: pswatch.py SECRET_FILE -- CMD [ARGS...]   (stdout and stderr are the command's)
The secret is the first line of SECRET_FILE, so it is not on this watcher's command line either.
Exit: the command's; 90 when the secret showed anywhere; 91 when the command's own command line
was never read (it ended before the first look: nothing was checked); 92 when it ran over 300 s."""
import os
import subprocess
import sys
import time

args = sys.argv[1:]
if len(args) < 3 or args[1] != "--":
    sys.exit("usage: pswatch.py SECRET_FILE -- CMD [ARGS...]")
with open(args[0], "rb") as f:
    secret = f.readline().rstrip(b"\r\n")
if len(secret) < 4:
    sys.exit("pswatch: the secret is too short to look for")

proc = subprocess.Popen(args[2:])
me = os.getpid()
samples = own = lines = 0
seen = []
deadline = time.monotonic() + 300
while True:
    done = proc.poll() is not None
    samples += 1
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        paths = ["/proc/%s/cmdline" % d] + (["/proc/%s/environ" % d] if int(d) == proc.pid else [])
        for path in paths:
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:  # the process ended meanwhile
                continue
            lines += 1
            if int(d) == proc.pid and path.endswith("cmdline") and data:
                own += 1
            if secret in data:
                seen.append("%s: %s" % (path, data.replace(b"\0", b" ")[:120].replace(secret, b"<SECRET>")))
    if done:
        break
    if time.monotonic() > deadline:
        proc.kill()
        proc.wait()
        print("pswatch: the command ran over 300 s", file=sys.stderr)
        sys.exit(92)
    time.sleep(0.005)

print("pswatch: %d looks at every process (%d command lines and environments read), the command's "
      "own command line read %d times while it ran; the secret %s" % (
          samples, lines, own, "showed in: " + "; ".join(sorted(set(seen))) if seen else "showed nowhere"),
      file=sys.stderr)
if seen:
    sys.exit(90)
if own == 0:
    sys.exit(91)
sys.exit(proc.returncode)
