// Dumps every message of a PST/OST as pst-extractor (npm, a reader we did not write) reads it, one
// JSON line per message: its folder path, every property of its property context, its recipient
// table's rows, its attachment table (columns and rows), and each attachment's own properties and
// data, recursively into embedded messages. test/export/compare_pstx.py compares two dumps.
//
// Values are "TTTT:HEX" (the property type, then the stored bytes; "TTTT:LEN:SHA256" over 512
// bytes), "TTTT:noref" for a variable-size value stored without an allocation (HNID 0).
// Named properties (0x8000 and up) are keyed by what the file's map says they are
// ("N:GUID:lid:0x8503" or "N:GUID:name:Keywords"), since a new file numbers them anew.
//
// Usage: node pstx_dump.js FILE OUT.jsonl   (NODE_PATH names the folder holding pst-extractor)
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { PSTFile } = require('pst-extractor');
let Long;
try { Long = require('long'); } catch (e) { Long = require('pst-extractor/node_modules/long'); }
const PSTTableBC = require('pst-extractor/dist/PSTTableBC.class').PSTTableBC;
const PSTNodeInputStream = require('pst-extractor/dist/PSTNodeInputStream.class').PSTNodeInputStream;
const PSTUtil = require('pst-extractor/dist/PSTUtil.class').PSTUtil;

const [file, outPath] = process.argv.slice(2);
const pst = new PSTFile(file);
const out = fs.openSync(outPath, 'w');
const counts = { folders: 0, messages: 0, properties: 0, recipients: 0, attachments: 0, embedded: 0,
  'attachment bytes': 0, 'attachment table rows': 0, problems: 0 };

const hex = (b) => b.toString('hex');
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const t4 = (t) => t.toString(16).padStart(4, '0');
const val = (t, b) => (b === null ? t4(t) + ':unreadable' : b.length > 512 ? t4(t) + ':' + b.length + ':' + sha(b) : t4(t) + ':' + hex(b));

// ------------------------------------------------------------------ the name-to-id map
const names = new Map(); // property id -> "N:..."
(function loadNames() {
  const node = pst.getDescriptorIndexNode(Long.fromNumber(0x61));
  let locals = null;
  if (node.localDescriptorsOffsetIndexIdentifier.toNumber() !== 0)
    locals = pst.getPSTDescriptorItems(node.localDescriptorsOffsetIndexIdentifier);
  const table = new PSTTableBC(new PSTNodeInputStream(pst, pst.getOffsetIndexNode(node.dataOffsetIndexIdentifier)));
  const items = table.getItems();
  const get = (id) => { const it = items.get(id); return it ? pst.getData(it, locals) : Buffer.alloc(0); };
  const guids = get(2), entries = get(3), strings = get(4);
  const psMapi = Buffer.from('2803020000000000c000000000000046', 'hex');
  const psPublic = Buffer.from('2903020000000000c000000000000046', 'hex');
  for (let off = 0; off + 8 <= entries.length; off += 8) {
    const v = entries.readUInt32LE(off), g = entries.readUInt16LE(off + 4), idx = entries.readUInt16LE(off + 6);
    const gi = g >> 1;
    const guid = gi === 1 ? psMapi : gi === 2 ? psPublic : guids.subarray((gi - 3) * 16, (gi - 2) * 16);
    let key = 'N:' + hex(guid) + ':';
    if (g & 1) {
      const len = v + 4 <= strings.length ? strings.readUInt32LE(v) : -1;
      key += len >= 0 && v + 4 + len <= strings.length ? 'name:' + strings.subarray(v + 4, v + 4 + len).toString('utf16le')
                                                       : 'name-unreadable';
    } else {
      key += 'lid:0x' + v.toString(16);
    }
    names.set(0x8000 + idx, key);
  }
})();

const propKey = (id, type) => (id >= 0x8000 ? names.get(id) || 'N:unknown:0x' + id.toString(16) : '0x' + t4(id)) + '/' + t4(type);

// ------------------------------------------------------------------ values
const INLINE = { 0x0002: 2, 0x0003: 4, 0x0004: 4, 0x000a: 4, 0x000b: 1 };

// The stored bytes of a property context's item (PSTTableBC).
function pcValue(item, locals) {
  const t = item.entryValueType;
  if (INLINE[t] && item.isExternalValueReference) {
    const b = Buffer.alloc(INLINE[t]);
    let v = item.entryValueReference >>> 0;
    for (let i = 0; i < b.length; i++) { b[i] = v & 0xff; v = Math.floor(v / 256); }
    return b;
  }
  if (!item.isExternalValueReference) return item.data;
  if (item.entryValueReference === 0) return 'noref';
  const d = locals && locals.get(item.entryValueReference);
  return d ? d.getData() : null;
}

// The bytes of a table cell (PSTTable7C), from the table's own subnodes when the value is there.
function cellValue(item, subnodes) {
  const t = item.entryValueType;
  const size = { 0x0002: 2, 0x0003: 4, 0x0004: 4, 0x000a: 4, 0x000b: 1 }[t];
  if (size && item.isExternalValueReference) {
    const b = Buffer.alloc(size);
    let v = item.entryValueReference >>> 0;
    for (let i = 0; i < b.length; i++) { b[i] = v & 0xff; v = Math.floor(v / 256); }
    return b;
  }
  if (!item.isExternalValueReference) return item.data;
  const d = subnodes && subnodes.get(item.entryValueReference);
  return d ? d.getData() : null;
}

function rowOf(map, subnodes) {
  const row = {};
  for (const [id, item] of map) {
    if (id === 0x67f2 || id === 0x67f3) continue; // a table's own row id and version
    const v = cellValue(item, subnodes);
    row[propKey(id, item.entryValueType)] = v === 'noref' ? t4(item.entryValueType) + ':noref' : val(item.entryValueType, v);
  }
  return row;
}

function props(obj, skip) {
  const p = {};
  for (const [id, item] of obj.pstTableItems || new Map()) {
    if (skip && skip(id, item)) continue;
    const v = pcValue(item, obj.localDescriptorItems);
    p[propKey(id, item.entryValueType)] = v === 'noref' ? t4(item.entryValueType) + ':noref' : val(item.entryValueType, v);
    counts.properties++;
  }
  return p;
}

// The message an attachment embeds, read as PSTAttachment.embeddedPSTMessage reads it, with the
// outer message's node given (pst-extractor 1.12 needs one and an attachment has none).
function embedded(att, msg) {
  const ref = att.pstTableItems.get(0x3701);
  const d = att.localDescriptorItems && att.localDescriptorItems.get(ref.data.readUInt32LE(0));
  if (!d) return null;
  let locals = new Map();
  if (d.subNodeOffsetIndexIdentifier > 0) locals = pst.getPSTDescriptorItems(Long.fromNumber(d.subNodeOffsetIndexIdentifier));
  const table = new PSTTableBC(new PSTNodeInputStream(pst, d));
  return PSTUtil.createAppropriatePSTMessageObject(pst, msg.descriptorIndexNode, table, locals);
}

function message(msg, depth) {
  const m = { props: props(msg), recipients: [], attachment_table: null, attachments: [] };
  const nr = msg.numberOfRecipients;
  if (nr && msg.recipientTable) {
    for (const r of msg.recipientTable.getItems()) {
      m.recipients.push(rowOf(r, msg.recipientTable.subNodeDescriptorItems));
      counts.recipients++;
    }
  }
  const na = msg.numberOfAttachments;
  if (na && msg.attachmentTable) {
    const t = msg.attachmentTable;
    m.attachment_table = {
      columns: t.columnDescriptors.map((c) => propKey(c.id, c.type)).filter((k) => !/^0x67f[23]\//.test(k)).sort(),
      rows: t.getItems().map((r) => rowOf(r, t.subNodeDescriptorItems)),
    };
    counts['attachment table rows'] += m.attachment_table.rows.length;
    for (let i = 0; i < na; i++) {
      let att;
      try {
        att = msg.getAttachment(i);
      } catch (e) {
        m.attachments.push({ error: String(e.message || e) });
        counts.problems++;
        continue;
      }
      counts.attachments++;
      const method = att.pstTableItems.get(0x3705) ? att.pstTableItems.get(0x3705).entryValueReference : -1;
      const a = { props: props(att, (id, item) => id === 0x3701 && item.entryValueType === 0x000d) };
      const data = att.pstTableItems.get(0x3701);
      if (data && data.entryValueType === 0x000d) {
        if (method === 5) {
          const em = embedded(att, msg);
          a.props['0x3701/000d'] = '000d:embedded message';
          if (em) {
            counts.embedded++;
            a.embedded = message(em, depth + 1);
          } else {
            a.embedded = { error: 'pst-extractor cannot open the embedded message' };
            counts.problems++;
          }
        } else {
          // an OLE object: the bytes of the subnode its reference names
          const nid = data.data.readUInt32LE(0);
          const d = att.localDescriptorItems && att.localDescriptorItems.get(nid);
          const b = d ? d.getData() : null;
          a.props['0x3701/000d'] = val(0x000d, b);
          if (b) counts['attachment bytes'] += b.length;
        }
      } else if (data) {
        const b = pcValue(data, att.localDescriptorItems);
        if (Buffer.isBuffer(b)) counts['attachment bytes'] += b.length;
      }
      m.attachments.push(a);
    }
  }
  return m;
}

// ------------------------------------------------------------------ folders
function walk(folder, path) {
  counts.folders++;
  // every row of the contents table (the folder's stored count may be lower than its rows)
  folder.initEmailsTable && folder.initEmailsTable();
  const rows = folder.emailsTable ? folder.emailsTable.getItems() : [];
  for (const row of rows) {
    const id = row.get(0x67f2);
    if (!id) continue;
    let msg;
    try {
      msg = PSTUtil.detectAndLoadPSTObject(pst, pst.getDescriptorIndexNode(Long.fromNumber(id.entryValueReference)));
    } catch (e) {
      fs.writeSync(out, JSON.stringify({ folder: path, error: 'message ' + id.entryValueReference + ': ' + (e.message || e) }) + '\n');
      counts.problems++;
      continue;
    }
    counts.messages++;
    const m = message(msg, 0);
    m.folder = path;
    fs.writeSync(out, JSON.stringify(m) + '\n');
  }
  if (folder.hasSubfolders)
    for (const sub of folder.getSubFolders()) walk(sub, path.concat([sub.displayName]));
}

walk(pst.getRootFolder(), []);
fs.closeSync(out);
console.log(JSON.stringify(counts));
