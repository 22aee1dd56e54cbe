/* Autodiscover's answers (src/ews/autodiscover.c): POX settings (the external EWS URL before the
 * internal one, the hex ServerVersion decoded), redirectAddr, redirectUrl, errors; SOAP
 * GetUserSettings (settings with the header's version, RedirectAddress, RedirectUrl, InvalidUser,
 * faults); and documents that are no answer, or hostile (an external entity is not fetched, an
 * entity bomb is not expanded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ews/internal.h"

#define POX_HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover " \
	"xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\"><Response " \
	"xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">"
#define POX_TAIL "</Response></Autodiscover>"

static ews_ad_answer parse(bool soap, const char *doc)
{
	ews_ad_answer a;
	ews_ad_parse(soap, doc, strlen(doc), &a);
	return a;
}

static void pox_settings(void **state)
{
	(void)state;
	/* EXCH (internal) first in the document: EXPR (external) still wins; 738180DA is 14.1.218. */
	ews_ad_answer a = parse(false, POX_HEAD "<User><DisplayName>A</DisplayName></User><Account><AccountType>email"
	                                        "</AccountType><Action>settings</Action>"
	                                        "<Protocol><Type>EXCH</Type><ServerVersion>738180DA</ServerVersion>"
	                                        "<EwsUrl>https://internal.contoso.example/EWS/Exchange.asmx</EwsUrl></Protocol>"
	                                        "<Protocol><Type>EXPR</Type><ServerVersion>738180DA</ServerVersion>"
	                                        "<EwsUrl> https://mail.contoso.example/EWS/Exchange.asmx </EwsUrl></Protocol>"
	                                        "<Protocol Type=\"mapiHttp\" Version=\"1\"><MailStore/></Protocol>"
	                                        "</Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_SETTINGS);
	assert_string_equal(a.value, "https://mail.contoso.example/EWS/Exchange.asmx");
	assert_string_equal(a.version, "14.1.218 (Exchange 2010)");
	/* Only EXCH: the internal URL; 15.1.2507 (73C189CB) and 15.2.2562 (73C28A02) named. */
	a = parse(false, POX_HEAD "<Account><Action>settings</Action><Protocol><Type>EXCH</Type>"
	                          "<ServerVersion>73C189CB</ServerVersion><EwsUrl>https://i/EWS/Exchange.asmx</EwsUrl>"
	                          "</Protocol></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_SETTINGS);
	assert_string_equal(a.value, "https://i/EWS/Exchange.asmx");
	assert_string_equal(a.version, "15.1.2507 (Exchange 2016)");
	a = parse(false, POX_HEAD "<Account><Action>settings</Action><Protocol><Type>EXPR</Type>"
	                          "<ServerVersion>73C28A02</ServerVersion><EwsUrl>https://e/EWS/Exchange.asmx</EwsUrl>"
	                          "</Protocol></Account>" POX_TAIL);
	assert_string_equal(a.version, "15.2.2562 (Exchange Server Subscription Edition)");
	/* A version that is not 8 hex digits is left out, the URL kept. */
	a = parse(false, POX_HEAD "<Account><Action>settings</Action><Protocol><Type>EXPR</Type>"
	                          "<ServerVersion>15.1</ServerVersion><EwsUrl>https://e/EWS/Exchange.asmx</EwsUrl>"
	                          "</Protocol></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_SETTINGS);
	assert_string_equal(a.version, "");
	/* Settings without any EwsUrl are no answer. */
	a = parse(false, POX_HEAD "<Account><Action>settings</Action><Protocol><Type>EXCH</Type>"
	                          "<Server>x</Server></Protocol></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_ERROR);
	assert_non_null(strstr(a.note, "no EwsUrl"));
}

static void pox_redirects_and_errors(void **state)
{
	(void)state;
	ews_ad_answer a = parse(false, POX_HEAD "<Account><Action>redirectAddr</Action><RedirectAddr>bob@fabrikam.example"
	                                        "</RedirectAddr></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_REDIRECT_ADDR);
	assert_string_equal(a.value, "bob@fabrikam.example");
	a = parse(false, POX_HEAD "<Account><Action>redirectUrl</Action><RedirectUrl>https://hub.example/autodiscover/"
	                          "autodiscover.xml</RedirectUrl></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_REDIRECT_URL);
	assert_string_equal(a.value, "https://hub.example/autodiscover/autodiscover.xml");
	a = parse(false, POX_HEAD "<Account><Action>redirectUrl</Action></Account>" POX_TAIL);
	assert_int_equal(a.kind, ANS_ERROR);
	a = parse(false, "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">"
	                 "<Response><Error Time=\"1\" Id=\"2\"><ErrorCode>500</ErrorCode><Message>The email address can't "
	                 "be found.</Message></Error></Response></Autodiscover>");
	assert_int_equal(a.kind, ANS_ERROR);
	assert_string_equal(a.note, "Autodiscover error 500: The email address can't be found.");
	a = parse(false, "<html><body>Welcome to nginx</body></html>");
	assert_int_equal(a.kind, ANS_ERROR);
	assert_string_equal(a.note, "not an Autodiscover answer");
	a = parse(false, "<Autodiscover><Response><Account><Action>sett");
	assert_int_equal(a.kind, ANS_ERROR);
	a = parse(false, "");
	assert_int_equal(a.kind, ANS_ERROR);
}

#define SOAP_HEAD "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>" \
	"<h:ServerVersionInfo xmlns:h=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\">" \
	"<h:MajorVersion>15</h:MajorVersion><h:MinorVersion>2</h:MinorVersion><h:MajorBuildNumber>1544" \
	"</h:MajorBuildNumber><h:MinorBuildNumber>4</h:MinorBuildNumber><h:Version>Exchange2015</h:Version>" \
	"</h:ServerVersionInfo></s:Header><s:Body><GetUserSettingsResponseMessage " \
	"xmlns=\"http://schemas.microsoft.com/exchange/2010/Autodiscover\"><Response><ErrorCode>NoError</ErrorCode>" \
	"<ErrorMessage/><UserResponses><UserResponse>"
#define SOAP_TAIL "</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>"

static void soap_answers(void **state)
{
	(void)state;
	ews_ad_answer a = parse(true, SOAP_HEAD "<ErrorCode>NoError</ErrorCode><UserSettings>"
	                                        "<UserSetting><Name>InternalEwsUrl</Name><Value>https://i/EWS/Exchange.asmx</Value></UserSetting>"
	                                        "<UserSetting><Name>ExternalEwsUrl</Name><Value>https://e/EWS/Exchange.asmx</Value></UserSetting>"
	                                        "</UserSettings>" SOAP_TAIL);
	assert_int_equal(a.kind, ANS_SETTINGS);
	assert_string_equal(a.value, "https://e/EWS/Exchange.asmx");
	assert_string_equal(a.version, "15.2.1544.4 (Exchange 2019)");
	a = parse(true, SOAP_HEAD "<ErrorCode>NoError</ErrorCode><UserSettings><UserSetting><Name>InternalEwsUrl</Name>"
	                          "<Value>https://i/EWS/Exchange.asmx</Value></UserSetting></UserSettings>" SOAP_TAIL);
	assert_string_equal(a.value, "https://i/EWS/Exchange.asmx");
	a = parse(true, SOAP_HEAD "<ErrorCode>RedirectAddress</ErrorCode><RedirectTarget>jo@soap2.example</RedirectTarget>"
	                          SOAP_TAIL);
	assert_int_equal(a.kind, ANS_REDIRECT_ADDR);
	assert_string_equal(a.value, "jo@soap2.example");
	a = parse(true, SOAP_HEAD "<ErrorCode>RedirectUrl</ErrorCode><RedirectTarget>https://x/autodiscover/autodiscover.svc"
	                          "</RedirectTarget>" SOAP_TAIL);
	assert_int_equal(a.kind, ANS_REDIRECT_URL);
	a = parse(true, SOAP_HEAD "<ErrorCode>InvalidUser</ErrorCode><ErrorMessage>Invalid user: 'x@y'</ErrorMessage>"
	                          SOAP_TAIL);
	assert_int_equal(a.kind, ANS_ERROR);
	assert_string_equal(a.note, "InvalidUser: Invalid user: 'x@y'");
	a = parse(true, SOAP_HEAD "<ErrorCode>NoError</ErrorCode><UserSettings/>" SOAP_TAIL);
	assert_int_equal(a.kind, ANS_ERROR);
	a = parse(true, "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>"
	                "<faultcode>a:ActionNotSupported</faultcode><faultstring>The message with Action '' cannot be "
	                "processed</faultstring></s:Fault></s:Body></s:Envelope>");
	assert_int_equal(a.kind, ANS_ERROR);
	assert_non_null(strstr(a.note, "SOAP fault: The message with Action"));
	a = parse(true, POX_HEAD POX_TAIL);
	assert_int_equal(a.kind, ANS_ERROR);
	assert_string_equal(a.note, "not a SOAP answer");
}

static void hostile(void **state)
{
	(void)state;
	/* An external entity is neither fetched nor substituted: the URL stays out of the answer. */
	ews_ad_answer a = parse(false, "<?xml version=\"1.0\"?><!DOCTYPE Autodiscover [<!ENTITY x SYSTEM "
	                               "\"file:///etc/passwd\">]>" POX_HEAD "<Account><Action>redirectAddr</Action>"
	                               "<RedirectAddr>&x;</RedirectAddr></Account>" POX_TAIL);
	assert_true(a.kind != ANS_REDIRECT_ADDR || strstr(a.value, "root:") == NULL);
	/* An entity bomb: refused or left unexpanded, in bounded time and memory. */
	ews_ad_answer b = parse(false, "<?xml version=\"1.0\"?><!DOCTYPE A [<!ENTITY a \"aaaaaaaaaaaaaaaa\">"
	                               "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
	                               "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	                               "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
	                               "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">"
	                               "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">]>"
	                               POX_HEAD "<Account><Action>redirectAddr</Action><RedirectAddr>&f;</RedirectAddr>"
	                               "</Account>" POX_TAIL);
	assert_true(strlen(b.value) < sizeof b.value);
	/* Values longer than the answer keeps are cut, never overrun. */
	char doc[9000];
	char big[4000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	snprintf(doc, sizeof doc, POX_HEAD "<Account><Action>redirectUrl</Action><RedirectUrl>https://%s</RedirectUrl>"
	                                   "</Account>" POX_TAIL, big);
	a = parse(false, doc);
	assert_int_equal(a.kind, ANS_REDIRECT_URL);
	assert_int_equal(strlen(a.value), sizeof a.value - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pox_settings),
		cmocka_unit_test(pox_redirects_and_errors),
		cmocka_unit_test(soap_answers),
		cmocka_unit_test(hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
