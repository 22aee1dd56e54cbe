// Lists a .pst/.ost with pst-extractor: one entry per folder (path below the unnamed root, and the
// subjects of its messages), as JSON on stdout. Usage: node pstx_list.js FILE
'use strict';
const { PSTFile } = require('pst-extractor');

const out = [];
function walk(folder, path) {
  if (path.length) {
    const subjects = [];
    if (folder.contentCount > 0) {
      let child = folder.getNextChild();
      while (child != null) {
        subjects.push(child.subject);
        child = folder.getNextChild();
      }
    }
    out.push({ path, subjects, content_count: folder.contentCount });
  }
  if (folder.hasSubfolders) {
    for (const sub of folder.getSubFolders()) walk(sub, path.concat([sub.displayName]));
  }
}
const pst = new PSTFile(process.argv[2]);
walk(pst.getRootFolder(), []);
process.stdout.write(JSON.stringify(out) + '\n');
