"""Server versions of the test EWS server (--exchange-version): the schema each validates requests
against, the RequestServerVersion values it takes, the fault it answers a request it refuses
with, and the shape of its answers (ServerVersionInfo, envelope prefixes). docs/TEST_SERVER.md,
"Server versions", gives the evidence for each."""

import os
import subprocess

import xmlout as X

# name -> what that version is. schema: the folder under the EWS schema root ("" = the root: the
# 2016/2019 schema); accepts: RequestServerVersion values it takes (None: every value the schema
# knows); info: its ServerVersionInfo; style: envelope and fault shape.
PROFILES = {
    "2007sp1": dict(schema="exchange2007sp1", accepts=("Exchange2007", "Exchange2007_SP1"),
                    info=dict(major=8, minor=1, build=240, minor_build=6, version=None), style="2007"),
    "2010sp2": dict(schema="exchange2010sp2",
                    accepts=("Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2"),
                    info=dict(major=14, minor=2, build=247, minor_build=5, version="Exchange2010_SP2"), style="2010"),
    "2016": dict(schema="", accepts=None,
                 info=dict(major=15, minor=1, build=2507, minor_build=6, version="V2017_07_11"), style="2016"),
}


# The schemas at hand, oldest first: (folder, RequestServerVersion values it was published for).
# Microsoft's 2007 SP1 and 2010 SP2 files fix RequestServerVersion to their own value; a server
# holds a request to the schema of the version the request names (the versioning header says
# which), so a request is validated against the newest schema at or below the version it names,
# its Version set to that schema's value (checked against the server's own list first).
SCHEMAS = (
    ("exchange2007sp1", "Exchange2007_SP1", ("Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1")),
    ("exchange2010sp2", "Exchange2010_SP2", ("Exchange2010_SP2",)),
    ("", None, None),
)


class Validator:
    """Holds requests to a version's schemas: in process with lxml when it is there (a
    millisecond a request), else with xmllint (about 0.1 s a request)."""

    def __init__(self, schema_root, profile):
        self.root = schema_root
        self.top = profile["schema"]  # the newest schema this server version knows
        self.cache = {}
        try:
            import lxml.etree as etree
            self.etree = etree
        except ImportError:
            self.etree = None
        for folder, _, _ in SCHEMAS:
            if not os.path.isfile(self._path(folder)):
                raise OSError("no EWS schema at %s" % self._path(folder))
            if folder == self.top:
                break

    def _path(self, folder):
        return os.path.join(self.root, folder, "soap-envelope.xsd")

    def _schema_for(self, version):
        """(folder, fixed Version) of the newest schema at or below `version`, never past the
        server's own (no version: the server's own)."""
        for folder, fixed, names in SCHEMAS:
            if folder == self.top or (version is not None and version in names):
                return folder, fixed
        return self.top, None

    def check(self, data, version):
        """None when `data` validates, else the first violation (text)."""
        folder, fixed = self._schema_for(version)
        if fixed and version is not None and version != fixed:
            # the file fixes Version to its own value; the version was checked against the
            # server's list before
            data = data.replace(('Version="%s"' % version).encode(), ('Version="%s"' % fixed).encode(), 1)
        if self.etree is not None:
            schema = self.cache.get(folder)
            if schema is None:
                schema = self.cache[folder] = self.etree.XMLSchema(self.etree.parse(self._path(folder)))
            try:
                doc = self.etree.fromstring(data, self.etree.XMLParser(resolve_entities=False, no_network=True))
            except self.etree.XMLSyntaxError as e:
                return str(e)
            if schema.validate(doc):
                return None
            err = schema.error_log.last_error
            return "%s (line %d)" % (err.message, err.line)
        p = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", self._path(folder), "-"], input=data,
                           capture_output=True, timeout=20)
        if p.returncode == 0:
            return None
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return next((m for m in msg if "validates" not in m), "invalid request").replace("-:", "line ", 1)


def request_version(data):
    """The RequestServerVersion a request names, or None (absent, or not readable)."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    el = root.find("{%s}Header/{%s}RequestServerVersion" % (X.NS_SOAP, X.NS_T))
    return None if el is None else el.get("Version")
