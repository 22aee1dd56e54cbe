"""What test/export's comparison scripts (compare_pff.py, compare_pstx.py, compare_pff_pstx.py)
share: where a folder of the exported .pst stands relative to the export folder, and the closing
report (the first differences, the counts, the verdict as the exit code)."""

OUTSIDE = "<outside the export folder>"


def export_folder(path, top):
    """The folder path of the exported .pst below its export folder `top` (under "Top of Personal
    Folders"); a folder anywhere else is kept whole behind OUTSIDE, so it never matches a source one."""
    path = tuple(path)
    if len(path) >= 2 and path[0] == "Top of Personal Folders" and path[1] == top:
        return path[2:]
    return (OUTSIDE,) + path


def report(who, bad, lines, ok, shown=30):
    """Prints the first `shown` differences and `lines` (the counts), then "N differences" (returns
    1) or `ok` (returns 0)."""
    for b in bad[:shown]:
        print("%s: %s" % (who, b))
    for line in lines:
        print(line)
    if bad:
        print("%s: %d differences" % (who, len(bad)))
        return 1
    print(ok)
    return 0
