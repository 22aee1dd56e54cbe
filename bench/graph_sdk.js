// The peer a user would script: Microsoft's JavaScript SDK (@microsoft/microsoft-graph-client)
// reading a mailbox through the Exchange mailbox API the way `ostrecon server --api graph` does
// (the settings, the folders' delta round, then each folder's items by delta round with the same
// $select and extended properties, 4 folders at a time, following @odata.nextLink with the SDK's
// PageIterator). Prints the items and requests.   node graph_sdk.js BASE_URL USER CONCURRENCY PAGE
"use strict";
const { Client, PageIterator } = require("@microsoft/microsoft-graph-client");

const [baseUrl, user, concurrency, page] = process.argv.slice(2);
const PROPS = ["Binary 0x65E0", "Binary 0x65E2", "Binary 0x65E3", "Integer 0x0E07", "Integer 0x1090",
  "Integer 0x0017", "String 0x0037", "String 0x1035", "SystemTime 0x0E06", "SystemTime 0x0039"];
const HEADERS = { Prefer: [`odata.maxpagesize=${page}`, 'IdType="ImmutableId"'] };
let requests = 0;
const TOKEN = process.env.GRAPH_TOKEN;

async function all(client, first, onObject) {
  const iter = new PageIterator(client, first, (o) => { onObject(o); return true; },
    { headers: HEADERS });
  await iter.iterate();
}

async function main() {
  const client = Client.init({
    baseUrl, defaultVersion: "v1.0", customHosts: new Set([new URL(baseUrl).hostname]),
    authProvider: (done) => { requests++; done(null, TOKEN); },
  });
  const settings = await client.api(`/users/${encodeURIComponent(user)}/settings/exchange`).get();
  const mbx = `/admin/exchange/mailboxes/${settings.primaryMailboxId}`;
  const folders = [];
  await all(client, await client.api(`${mbx}/folders/delta`).headers(HEADERS).get(), (f) => folders.push(f));
  folders.sort((a, b) => (b.totalItemCount || 0) - (a.totalItemCount || 0));
  const filter = PROPS.map((p) => `id eq '${p}'`).join(" or ");
  let items = 0, next = 0;
  async function worker() {
    while (next < folders.length) {
      const f = folders[next++];
      if (!f.totalItemCount) continue;
      const first = await client.api(`${mbx}/folders/${f.id}/items/delta`).headers(HEADERS)
        .select("type,size,createdDateTime,lastModifiedDateTime,changeKey")
        .expand(`singleValueExtendedProperties($filter=${filter})`).get();
      await all(client, first, () => { items++; });
    }
  }
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  console.log(`items ${items} folders ${folders.length} requests ${requests}`);
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
