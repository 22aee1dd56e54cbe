// Microsoft's own client library, @azure/msal-node, against the test identity platform endpoint:
// client credentials with a secret, with a certificate (SHA-256 thumbprint: PS256; SHA-1: RS256),
// the device code flow, and the two ways of pointing it at a private authority (knownAuthorities,
// or authorityMetadata + cloudDiscoveryMetadata). Every token is checked by the server that issued
// it (/_identity/check). Run by t_msal.sh; settings come from the environment (no secret in argv).
"use strict";
const fs = require("fs");
const msal = require("@azure/msal-node");

const env = (k) => {
    if (!process.env[k]) throw new Error("missing " + k);
    return process.env[k];
};
const BASE = env("BASE"), TENANT = env("TENANT"), APP = env("APP");
const SECRET = fs.readFileSync(env("SECRET_FILE"), "utf8").trim();
const KEY = fs.readFileSync(env("KEY"), "utf8");
const HOST = new URL(BASE).host;
const AUTHORITY = BASE + "/" + TENANT;

let failures = 0;
async function check(name, fn) {
    try {
        const extra = await fn();
        console.log("ok " + name + (extra ? ": " + extra : ""));
    } catch (e) {
        failures++;
        console.log("FAIL " + name + ": " + (e && (e.errorCode || e.name)) + " " + (e && e.message));
    }
}

async function whoami(token) {
    const r = await fetch(BASE + "/_identity/check", {headers: {Authorization: "Bearer " + token}});
    const j = await r.json();
    if (r.status !== 200) throw new Error("the server refused the token: " + JSON.stringify(j));
    return j;
}

function expect(cond, what) {
    if (!cond) throw new Error(what);
}

function confidential(auth) {
    return new msal.ConfidentialClientApplication({auth: Object.assign({authority: AUTHORITY, knownAuthorities: [HOST]}, auth)});
}

const GRAPH_DEFAULT = {scopes: ["https://graph.microsoft.com/.default"]};

async function main() {
    await check("client secret", async () => {
        const r = await confidential({clientId: APP, clientSecret: SECRET}).acquireTokenByClientCredential(GRAPH_DEFAULT);
        const who = await whoami(r.accessToken);
        expect(who.app === APP && who.auth === "secret" && who.roles.includes("Mail.Read"), JSON.stringify(who));
        return "roles " + who.roles.join(",");
    });
    await check("wrong client secret is refused with AADSTS7000215", async () => {
        try {
            await confidential({clientId: APP, clientSecret: "not-the-secret"}).acquireTokenByClientCredential(GRAPH_DEFAULT);
        } catch (e) {
            expect(e.errorCode === "invalid_client" && /AADSTS7000215/.test(e.errorMessage || e.message), e.message);
            return e.errorCode;
        }
        throw new Error("a token was issued for a wrong secret");
    });
    await check("certificate, SHA-256 thumbprint (PS256, x5t#S256)", async () => {
        const app = confidential({clientId: APP, clientCertificate: {thumbprintSha256: env("SHA256"), privateKey: KEY}});
        const who = await whoami((await app.acquireTokenByClientCredential(GRAPH_DEFAULT)).accessToken);
        expect(who.auth === "certificate", JSON.stringify(who));
    });
    await check("certificate, SHA-1 thumbprint (RS256, x5t)", async () => {
        const app = confidential({clientId: APP, clientCertificate: {thumbprint: env("SHA1"), privateKey: KEY}});
        const who = await whoami((await app.acquireTokenByClientCredential(GRAPH_DEFAULT)).accessToken);
        expect(who.auth === "certificate", JSON.stringify(who));
    });
    await check("unregistered certificate is refused with AADSTS700027", async () => {
        const app = confidential({clientId: APP, clientCertificate: {thumbprintSha256: env("OTHER_SHA256"),
                                                                     privateKey: fs.readFileSync(env("OTHER_KEY"), "utf8")}});
        try {
            await app.acquireTokenByClientCredential(GRAPH_DEFAULT);
        } catch (e) {
            expect(/AADSTS700027/.test(e.errorMessage || e.message), e.message);
            return e.errorCode;
        }
        throw new Error("a token was issued for an unregistered certificate");
    });
    await check("authorityMetadata and cloudDiscoveryMetadata instead of knownAuthorities", async () => {
        const app = new msal.ConfidentialClientApplication({auth: {
            clientId: APP, clientSecret: SECRET, authority: AUTHORITY,
            authorityMetadata: fs.readFileSync(env("OPENID_JSON"), "utf8"),
            cloudDiscoveryMetadata: fs.readFileSync(env("INSTANCE_JSON"), "utf8")}});
        const who = await whoami((await app.acquireTokenByClientCredential(GRAPH_DEFAULT)).accessToken);
        expect(who.app === APP, JSON.stringify(who));
    });
    await check("device code flow", async () => {
        const pca = new msal.PublicClientApplication({auth: {clientId: env("DEVICE_APP"), authority: AUTHORITY,
                                                              knownAuthorities: [HOST]}});
        let shown = "";
        const r = await pca.acquireTokenByDeviceCode({scopes: ["Mail.Read"], deviceCodeCallback: (d) => { shown = d.message; }});
        expect(/enter the code [A-Z0-9]{9}/.test(shown), "message: " + shown);
        const who = await whoami(r.accessToken);
        expect(who.user === env("DEVICE_USER") && who.scopes.includes("Mail.Read"), JSON.stringify(who));
        expect(r.account && r.account.username === env("DEVICE_USER"), "account: " + JSON.stringify(r.account));
        // Silent renewal with the refresh token msal keeps.
        const again = await pca.acquireTokenSilent({account: r.account, scopes: ["Mail.Read"], forceRefresh: true});
        expect(again.accessToken !== r.accessToken, "the refresh gave the same token");
        await whoami(again.accessToken);
        return who.user;
    });
    await check("an http authority is refused by msal itself", async () => {
        const http = BASE.replace("https://", "http://");
        const app = new msal.ConfidentialClientApplication({auth: {clientId: APP, clientSecret: SECRET,
                                                                   authority: http + "/" + TENANT, knownAuthorities: [HOST]}});
        try {
            await app.acquireTokenByClientCredential(GRAPH_DEFAULT);
        } catch (e) {
            expect(e.errorCode === "authority_uri_insecure", e.errorCode + " " + e.message);
            return e.errorCode;
        }
        throw new Error("msal-node took an http authority");
    });
    if (failures) {
        console.log(failures + " check(s) failed");
        process.exit(1);
    }
}

main().catch((e) => {
    console.log("FAIL: " + (e && e.stack));
    process.exit(1);
});
