// Reads a mailbox from the test Graph server with Microsoft's JavaScript SDK
// (@microsoft/microsoft-graph-client), following @odata.nextLink / @odata.deltaLink with the SDK's
// PageIterator, and writes what it saw as JSON for sdk_compare.py.
//
//   node sdk_read.js BASE_URL USER API OUT.json
//     API: mailbox (the Exchange mailbox API: folders/delta, then items/delta of each folder)
//          mail    (mailFolders/delta, messages/delta of each; calendars and events; contact folders
//                   and contacts/delta)
//   The token: GRAPH_TOKEN from the environment, or with MSAL_CONFIG (a JSON file: authority,
//   knownAuthority, clientId, clientSecretFile, authorityMetadata, cloudDiscoveryMetadata) a token
//   that @azure/msal-node gets from the server's identity endpoints (client credentials).
"use strict";
const fs = require("fs");
const { Client, PageIterator } = require("@microsoft/microsoft-graph-client");

const [baseUrl, user, api, outFile] = process.argv.slice(2);
const PREFER = { Prefer: "odata.maxpagesize=25" };

async function token() {
  if (process.env.GRAPH_TOKEN) return { token: process.env.GRAPH_TOKEN, via: "static token" };
  const cfg = JSON.parse(fs.readFileSync(process.env.MSAL_CONFIG, "utf8"));
  const msal = require("@azure/msal-node");
  const app = new msal.ConfidentialClientApplication({
    auth: {
      clientId: cfg.clientId,
      clientSecret: fs.readFileSync(cfg.clientSecretFile, "utf8").trim(),
      authority: cfg.authority,
      knownAuthorities: [cfg.knownAuthority],
      authorityMetadata: JSON.stringify(cfg.authorityMetadata),
      cloudDiscoveryMetadata: JSON.stringify(cfg.cloudDiscoveryMetadata),
    },
  });
  const r = await app.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
  return { token: r.accessToken, via: "msal-node client credentials" };
}

async function all(client, first, headers) {
  // The whole collection: first page by the SDK's request builder, the rest by PageIterator.
  const out = [];
  const iter = new PageIterator(client, first, (o) => { out.push(o); return true; }, { headers });
  await iter.iterate();
  return { objects: out, deltaLink: iter.getDeltaLink() };
}

async function main() {
  const tok = await token();
  const host = new URL(baseUrl).hostname;
  const client = Client.init({
    baseUrl,
    defaultVersion: "v1.0",
    customHosts: new Set([host]),
    authProvider: (done) => done(null, tok.token),
  });
  const out = { via: tok.via, api, folders: [], requests: 0 };
  const u = encodeURIComponent(user);
  if (api === "mailbox") {
    const settings = await client.api(`/users/${u}/settings/exchange`).get();
    out.mailboxId = settings.primaryMailboxId;
    const mbx = `/admin/exchange/mailboxes/${settings.primaryMailboxId}`;
    const first = await client.api(`${mbx}/folders/delta`).headers(PREFER).get();
    const folders = await all(client, first, PREFER);
    for (const f of folders.objects) {
      const page = await client.api(`${mbx}/folders/${f.id}/items/delta`).headers(PREFER)
        .select(["type", "changeKey"]).get();
      const items = await all(client, page, PREFER);
      out.folders.push({ id: f.id, displayName: f.displayName, parentFolderId: f.parentFolderId,
        type: f.type, totalItemCount: f.totalItemCount, items: items.objects.map((i) => i.id),
        classes: items.objects.map((i) => i.type), deltaLink: !!items.deltaLink });
    }
    out.folderDeltaLink = !!folders.deltaLink;
  } else {
    const first = await client.api(`/users/${u}/mailFolders/delta`).headers(PREFER).get();
    const folders = await all(client, first, PREFER);
    for (const f of folders.objects) {
      const page = await client.api(`/users/${u}/mailFolders/${f.id}/messages/delta`).headers(PREFER)
        .select(["subject", "isRead"]).get();
      const items = await all(client, page, PREFER);
      out.folders.push({ id: f.id, displayName: f.displayName, parentFolderId: f.parentFolderId,
        totalItemCount: f.totalItemCount, items: items.objects.map((i) => i.id),
        types: items.objects.map((i) => i["@odata.type"]), deltaLink: !!items.deltaLink });
    }
    out.folderDeltaLink = !!folders.deltaLink;
    out.calendars = [];
    const cals = await all(client, await client.api(`/users/${u}/calendars`).get());
    for (const c of cals.objects) {
      const ev = await all(client, await client.api(`/users/${u}/calendars/${c.id}/events`).top(3).get());
      out.calendars.push({ id: c.id, name: c.name, items: ev.objects.map((e) => e.id) });
    }
    out.contactFolders = [];
    const cfs = await all(client, await client.api(`/users/${u}/contactFolders/delta`).get());
    for (const c of cfs.objects) {
      const ct = await all(client, await client.api(`/users/${u}/contactFolders/${c.id}/contacts/delta`).get());
      out.contactFolders.push({ id: c.id, displayName: c.displayName, items: ct.objects.map((e) => e.id) });
    }
  }
  // An error comes back as the SDK's GraphError with Graph's code.
  try {
    await client.api(`/users/${u}/mailFolders/inbox/messages`).select("nosuchproperty").get();
    out.errorCode = null;
  } catch (e) {
    out.errorCode = e.code;
    out.errorStatus = e.statusCode;
  }
  fs.writeFileSync(outFile, JSON.stringify(out));
}

main().catch((e) => { console.error("sdk_read:", e && (e.stack || e.message || e)); process.exit(1); });
