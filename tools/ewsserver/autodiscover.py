"""Autodiscover for the test EWS server: the answers Exchange gives a client looking for a mailbox's
EWS URL, configured per host name (the Host header: one server plays every name the client is
pointed at with --connect-to/--resolve).

Configuration (--autodiscover FILE, JSON; docs/TEST_SERVER.md):

    {"hosts": {
      "contoso.example": {
        "pox":  {"*": {"ews_url": "https://mail.contoso.example/EWS/Exchange.asmx", "version": "15.1.2507.6"}},
        "soap": {"alice@contoso.example": {"redirect_addr": "alice@fabrikam.example"}}
      },
      "autodiscover.fabrikam.example": {"redirect": "https://hub.example/autodiscover/autodiscover.xml"}
    }}

Per host: "pox" answers POST /autodiscover/autodiscover.xml, "soap" POST /autodiscover/autodiscover.svc
(GetUserSettings), "redirect" answers GET /autodiscover/autodiscover.xml with a 302 (the HTTP redirect
method: no credentials asked). A rule is chosen by the address asked for, else "*"; what it says:
  {"ews_url": U [, "internal_ews_url": U2] [, "version": "15.1.2507.6"]}   the settings
  {"redirect_addr": "{local}@other.example"}   Action redirectAddr / ErrorCode RedirectAddress
  {"redirect_url": U}                          Action redirectUrl / ErrorCode RedirectUrl
  {"status": 302, "location": U}               an HTTP redirect (or any status, e.g. 404, 500)
  {"error": "500", "message": "..."}           an Autodiscover error answer (InvalidUser for SOAP)
An address no rule matches gets error 500 "The email address can't be found." (SOAP: InvalidUser).
Requests must authenticate as for EWS (401 otherwise), except the HTTP redirect method's GET; a host
without a configuration answers 404."""

import json
import xml.etree.ElementTree as ET

POX_PATH = "/autodiscover/autodiscover.xml"
SOAP_PATH = "/autodiscover/autodiscover.svc"
NS_POX_RESP = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_OUTLOOK = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
NS_AD = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
SOAP_ACTION = NS_AD + "/Autodiscover/GetUserSettings"
DEFAULT_VERSION = "15.1.2507.6"


class ConfigError(Exception):
    pass


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def load(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError("autodiscover file %s: %s" % (path, e)) from None
    hosts = doc.get("hosts") if isinstance(doc, dict) else None
    if not isinstance(hosts, dict):
        raise ConfigError("autodiscover file %s: no \"hosts\" object" % path)
    out = {}
    for host, conf in hosts.items():
        if not isinstance(conf, dict) or not set(conf) <= {"pox", "soap", "redirect"}:
            raise ConfigError("autodiscover host %s: want an object of pox, soap, redirect" % host)
        for kind in ("pox", "soap"):
            for addr, rule in (conf.get(kind) or {}).items():
                keys = set(rule) if isinstance(rule, dict) else {"?"}
                if not (keys <= {"ews_url", "internal_ews_url", "version"} or keys == {"redirect_addr"} or
                        keys == {"redirect_url"} or keys <= {"status", "location"} or keys <= {"error", "message"}):
                    raise ConfigError("autodiscover host %s, %s rule %s: unknown answer %r" % (host, kind, addr, rule))
        out[host.lower()] = conf
    return out


def version_parts(v):
    parts = [int(p) for p in (v or DEFAULT_VERSION).split(".")]
    return (parts + [0, 0, 0, 0])[:4]


def pox_version(v):
    """POX ServerVersion: 4 bits 0111, 6 bits major, 6 bits minor, a flag bit, 15 bits build."""
    major, minor, build, _ = version_parts(v)
    return "%08X" % (0x70000000 | (major & 0x3F) << 22 | (minor & 0x3F) << 16 | 0x8000 | (build & 0x7FFF))


def host_of(handler):
    h = (handler.headers.get("Host") or "").strip().lower()
    if h.startswith("["):
        return h.split("]")[0] + "]"
    return h.rsplit(":", 1)[0] if ":" in h else h


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _find(el, name):
    for c in el.iter():
        if _local(c.tag) == name:
            return c
    return None


def requested_address(body, soap):
    """The address a POX (EMailAddress) or SOAP (Mailbox) request asks for, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    el = _find(root, "Mailbox" if soap else "EMailAddress")
    if el is None or not (el.text or "").strip():
        return None
    if not soap and _local(root.tag) != "Autodiscover":
        return None
    return el.text.strip()


def rule_for(conf, kind, address):
    rules = conf.get(kind) or {}
    for key, rule in rules.items():
        if key.lower() == address.lower():
            return rule
    return rules.get("*")


def _subst(text, address):
    return text.replace("{local}", address.split("@", 1)[0])


def pox_answer(rule, address):
    """(status, headers, body) for a POX request."""
    if rule is None:
        rule = {"error": "500", "message": "The email address can't be found."}
    if "status" in rule:
        hdrs = [("Location", rule["location"])] if rule.get("location") else []
        return rule["status"], hdrs, b""
    head = '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="%s">' % NS_POX_RESP
    if "error" in rule:
        body = ('%s<Response><Error Time="12:00:00.0000000" Id="2477295184"><ErrorCode>%s</ErrorCode>'
                '<Message>%s</Message><DebugData /></Error></Response></Autodiscover>'
                % (head, esc(rule["error"]), esc(rule.get("message", "The email address can't be found."))))
        return 200, [], body.encode()
    user = ('<User><DisplayName>%s</DisplayName><AutoDiscoverSMTPAddress>%s</AutoDiscoverSMTPAddress></User>'
            % (esc(address.split("@")[0]), esc(address)))
    if "redirect_addr" in rule:
        acct = ('<Account><AccountType>email</AccountType><Action>redirectAddr</Action><RedirectAddr>%s</RedirectAddr>'
                '</Account>' % esc(_subst(rule["redirect_addr"], address)))
    elif "redirect_url" in rule:
        acct = ('<Account><AccountType>email</AccountType><Action>redirectUrl</Action><RedirectUrl>%s</RedirectUrl>'
                '</Account>' % esc(rule["redirect_url"]))
    else:
        ver = pox_version(rule.get("version"))
        internal = rule.get("internal_ews_url", rule["ews_url"])
        acct = ('<Account><AccountType>email</AccountType><Action>settings</Action>'
                '<Protocol><Type>EXCH</Type><Server>mbx01.internal.example</Server><ServerVersion>%s</ServerVersion>'
                '<ASUrl>%s</ASUrl><EwsUrl>%s</EwsUrl></Protocol>'
                '<Protocol><Type>EXPR</Type><Server>%s</Server><ServerVersion>%s</ServerVersion>'
                '<ASUrl>%s</ASUrl><EwsUrl>%s</EwsUrl></Protocol>'
                '<Protocol Type="mapiHttp" Version="1"><MailStore><ExternalUrl>https://mapi.example/mapi/emsmdb/'
                '</ExternalUrl></MailStore></Protocol></Account>'
                % (ver, esc(internal), esc(internal), "mail.example", ver, esc(rule["ews_url"]), esc(rule["ews_url"])))
    body = '%s<Response xmlns="%s">%s%s</Response></Autodiscover>' % (head, NS_OUTLOOK, user, acct)
    return 200, [], body.encode()


def soap_answer(rule, address, to_url):
    """(status, headers, body) for a GetUserSettings request."""
    if rule is not None and "status" in rule:
        hdrs = [("Location", rule["location"])] if rule.get("location") else []
        return rule["status"], hdrs, b""
    major, minor, build, rev = version_parts((rule or {}).get("version"))
    head = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">'
            '<s:Header><a:Action s:mustUnderstand="1">%sResponse</a:Action>'
            '<h:ServerVersionInfo xmlns:h="%s" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
            '<h:MajorVersion>%d</h:MajorVersion><h:MinorVersion>%d</h:MinorVersion>'
            '<h:MajorBuildNumber>%d</h:MajorBuildNumber><h:MinorBuildNumber>%d</h:MinorBuildNumber>'
            '<h:Version>Exchange2015</h:Version></h:ServerVersionInfo></s:Header><s:Body>'
            '<GetUserSettingsResponseMessage xmlns="%s"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
            '<ErrorCode>NoError</ErrorCode><ErrorMessage /><UserResponses><UserResponse>'
            % (SOAP_ACTION, NS_AD, major, minor, build, rev, NS_AD))
    tail = '</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>'
    if rule is None or "error" in rule:
        mid = ('<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>%s</ErrorMessage><RedirectTarget i:nil="true" />'
               '<UserSettingErrors /><UserSettings />'
               % esc((rule or {}).get("message", "Invalid user: '%s'" % address)))
    elif "redirect_addr" in rule:
        mid = ('<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>Redirection address.</ErrorMessage>'
               '<RedirectTarget>%s</RedirectTarget><UserSettingErrors /><UserSettings />'
               % esc(_subst(rule["redirect_addr"], address)))
    elif "redirect_url" in rule:
        mid = ('<ErrorCode>RedirectUrl</ErrorCode><ErrorMessage>Redirection URL.</ErrorMessage>'
               '<RedirectTarget>%s</RedirectTarget><UserSettingErrors /><UserSettings />' % esc(rule["redirect_url"]))
    else:
        settings = [("ExternalEwsUrl", rule["ews_url"]), ("InternalEwsUrl", rule.get("internal_ews_url", rule["ews_url"]))]
        mid = ('<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true" />'
               '<UserSettingErrors /><UserSettings>%s</UserSettings>'
               % "".join('<UserSetting i:type="StringSetting"><Name>%s</Name><Value>%s</Value></UserSetting>'
                         % (n, esc(v)) for n, v in settings))
    return 200, [], (head + mid + tail).encode()
