/* evidex review page. Document text only ever enters the DOM through textContent: nothing from a document is
   parsed as HTML. Data: a JSON block (standalone) or the job API named by <body data-api> (evidex serve). */
(function () {
  'use strict';
  var body = document.body;
  var API = body.getAttribute('data-api');
  var S = { title: body.getAttribute('data-title') || 'evidex review', docs: [], cur: 0, row: -1,
            corr: {}, proposal: null, fields: [], threshold: null, token: null };
  var CTRL = /[\u0000-\u0008\u000b-\u001f]/g;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function shown(s) {  // control characters as visible symbols, one code unit each (offsets unchanged)
    return s.replace(CTRL, function (c) { return String.fromCharCode(0x2400 + c.charCodeAt(0)); })
            .replace(/\u007f/g, '\u2421');
  }
  function status(msg) { var s = document.getElementById('status'); if (s) { s.textContent = msg; } }

  // ------------------------------------------------------------------ auth and API (served mode)
  function initToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      S.token = decodeURIComponent(m[1]);
      try { sessionStorage.setItem('evidex-token', S.token); } catch (e) { /* private mode */ }
      history.replaceState(null, '', location.pathname + location.search);
    } else {
      try { S.token = sessionStorage.getItem('evidex-token'); } catch (e) { S.token = null; }
    }
  }
  function api(path, opts) {
    opts = opts || {};
    opts.headers = opts.headers || {};
    if (S.token) { opts.headers.Authorization = 'Bearer ' + S.token; }
    return fetch(API + path, opts).then(function (r) {
      if (r.ok) { return r; }
      return r.json().catch(function () { return {}; }).then(function (j) {
        throw new Error((j.error && j.error.message) || ('HTTP ' + r.status));
      });
    });
  }

  // ------------------------------------------------------------------ corrections
  function ckey(doc, path) { return doc.record.doc_id + '\u0000' + path; }
  function storeKey() { return 'evidex-review:' + S.title + ':' + (S.docs[0] ? S.docs[0].record.doc_id : ''); }
  function loadLocal() {
    try { (JSON.parse(localStorage.getItem(storeKey()) || '[]')).forEach(keep); } catch (e) { /* ignore */ }
  }
  function keep(c) { S.corr[c.doc_id + '\u0000' + c.path] = c; }
  function saveLocal() {
    var all = Object.keys(S.corr).map(function (k) { return S.corr[k]; });
    try { localStorage.setItem(storeKey(), JSON.stringify(all)); } catch (e) { status('could not save: ' + e); }
  }
  function reviewer() { var i = document.getElementById('reviewer'); return (i && i.value.trim()) || 'reviewer'; }
  function correct(doc, path, action, value, start, end) {
    var c = { doc_id: doc.record.doc_id, path: path, action: action, by: reviewer() };
    if (value !== undefined && value !== null) { c.value = value; }
    if (start !== undefined && start !== null) { c.start = start; c.end = end; c.text = cpSlice(doc, start, end); }
    if (API) {
      return api('/corrections', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: JSON.stringify(c) })
        .then(function (r) { return r.json(); })
        .then(function (saved) { keep(saved); render(); status(action + ' ' + path + ' saved'); })
        .catch(function (e) { status('not saved: ' + e.message); });
    }
    c.at = new Date().toISOString();
    keep(c); saveLocal(); render(); status(action + ' ' + path + ' saved in this browser');
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ gold export
  function column(path) { return path.replace(/\[\d+\]/g, ''); }
  function acceptedValue(x) {
    if (typeof x.raw === 'string' && x.raw.trim() && x.grounding !== 'ungrounded') { return x.raw; }
    var v = x.value;
    if (v && typeof v === 'object' && 'amount' in v && 'currency' in v) { return v.amount + ' ' + v.currency; }
    return v;
  }
  function goldLines() {  // the same rules as evidex.output.gold.gold_records
    var out = [];
    S.docs.forEach(function (doc) {
      var rec = doc.record, ext = {}, order = [], decided = [];
      (rec.extractions || []).forEach(function (x) { ext[x.path] = x; order.push(x.path); });
      Object.keys(S.corr).forEach(function (k) { var c = S.corr[k]; if (c.doc_id === rec.doc_id) { decided.push(c); } });
      if (!decided.length) { return; }
      decided.sort(function (a, b) {
        var ia = order.indexOf(a.path), ib = order.indexOf(b.path);
        ia = ia < 0 ? order.length : ia; ib = ib < 0 ? order.length : ib;
        return ia - ib || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
      });
      var fields = {}, evidence = {};
      decided.forEach(function (c) {
        var col = column(c.path);
        fields[col] = fields[col] || [];
        if (c.action === 'accept' && ext[c.path]) {
          fields[col].push(acceptedValue(ext[c.path]));
          (ext[c.path].evidence || []).forEach(function (ev) {
            (evidence[col] = evidence[col] || []).push({ start: ev.start, end: ev.end, text: ev.text || '' });
          });
        } else if (c.action === 'edit') {
          fields[col].push(c.value);
          if (c.start !== undefined) {
            (evidence[col] = evidence[col] || []).push({ start: c.start, end: c.end, text: c.text || '' });
          }
        }
      });
      Object.keys(fields).forEach(function (k) {
        var v = fields[k]; fields[k] = !v.length ? null : v.length === 1 ? v[0] : v;
      });
      out.push({ id: rec.doc_id, path: rec.source, fields: fields, evidence: evidence,
                 sha256: (rec.document || {}).sha256 || null,
                 corrections: decided.slice().sort(function (a, b) { return a.path < b.path ? -1 : 1; }) });
    });
    return out.map(function (o) { return JSON.stringify(o); }).join('\n') + (out.length ? '\n' : '');
  }
  function download(blob) {
    var a = el('a'); a.href = URL.createObjectURL(blob); a.download = 'gold.jsonl'; a.id = 'gold-link';
    document.body.appendChild(a); a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function exportGold() {
    if (API) {
      return api('/gold').then(function (r) { return r.blob(); }).then(download)
        .catch(function (e) { status('export failed: ' + e.message); });
    }
    download(new Blob([goldLines()], { type: 'application/x-ndjson' }));
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ text helpers (Python offsets = code points)
  function cps(doc) { if (!doc._cps) { doc._cps = Array.from(doc.text || ''); } return doc._cps; }
  function cpSlice(doc, a, b) { return cps(doc).slice(a, b).join(''); }
  function uncertain(doc, x) {
    return x.review || x.grounding === 'ungrounded' || (S.threshold !== null && x.confidence < S.threshold);
  }
  function decision(doc, path) { return S.corr[ckey(doc, path)]; }

  // ------------------------------------------------------------------ rendering
  function render() {
    var doc = S.docs[S.cur];
    var app = document.getElementById('app');
    app.textContent = '';
    if (!doc) { app.appendChild(el('p', 'meta', 'No documents.')); return; }
    var sel = document.getElementById('docsel');
    if (sel) { sel.value = String(S.cur); }
    updateProgress();
    var left = el('section', 'values'), right = el('section', 'source');
    app.appendChild(left); app.appendChild(right);
    var rec = doc.record;
    var h = el('h2', null, baseName(doc));
    h.title = rec.source || '';
    left.appendChild(h);
    left.appendChild(el('div', 'meta', [doc.kind, rec.document ? rec.document.media_type : '',
      doc.pages.length ? doc.pages.length + ' page(s)' : ''].filter(Boolean).join(' · ')));
    if (rec.error) {
      var er = el('div', 'error');
      er.appendChild(el('code', null, rec.error.code || '?'));
      er.appendChild(document.createTextNode(' ' + (rec.error.message || '')));
      left.appendChild(er);
    }
    left.appendChild(fieldsTable(doc));
    if (doc.pages.some(function (p) { return p.image; })) { right.appendChild(pagesView(doc)); }
    if (doc.cells && doc.cells.length) { right.appendChild(sheetView(doc)); }
    if (doc.text !== null) { right.appendChild(textView(doc)); }
  }

  function baseName(doc) {
    var r = doc.record, n = (r.document && r.document.name) || r.source || r.doc_id || '';
    return String(n).split(/[\\/]/).pop();
  }

  function where(ev) {
    var out = [];
    (ev.prov || []).forEach(function (p) {
      if (p.dom_path) { out.push(p.dom_path); }
      if (p.sheet_cell) { out.push(p.sheet_cell); }
      if (p.mime_part) { out.push('part ' + p.mime_part); }
      if (p.line) { out.push('line ' + p.line); }
    });
    if (ev.pages && ev.pages.length) { out.unshift('p. ' + ev.pages.join(',')); }
    return out.filter(function (v, i) { return out.indexOf(v) === i; }).slice(0, 4).join(' · ');
  }

  function fieldsTable(doc) {
    var t = el('table', 'fields');
    var hr = el('tr');
    ['Field', 'Value', 'Grounding', 'Confidence', 'Where', 'Review'].forEach(function (c) { hr.appendChild(el('th', null, c)); });
    t.appendChild(el('thead')).appendChild(hr);
    var tb = el('tbody');
    (doc.record.extractions || []).forEach(function (x, i) {
      var tr = el('tr', 'row');
      tr.id = 'row-' + doc.key + '-' + i;
      tr.setAttribute('data-row', String(i));
      tr.setAttribute('data-path', x.path);
      if (uncertain(doc, x)) { tr.classList.add('uncertain'); }
      if (i === S.row) { tr.classList.add('selected'); }
      var d = decision(doc, x.path);
      var f = el('td', 'path'); var a = el('a', 'evlink', x.path); a.href = '#'; f.appendChild(a); tr.appendChild(f);
      var v = el('td', 'val', displayValue(x.value));
      if (d) {
        tr.classList.add('decided', 'd-' + d.action);
        if (d.action === 'edit') { v.appendChild(el('div', 'fixed', '→ ' + d.value)); }
        if (d.action === 'absent') { v.appendChild(el('div', 'fixed', '→ not in document')); }
      }
      tr.appendChild(v);
      var g = el('td'); g.appendChild(el('span', 'badge g-' + x.grounding, x.grounding)); tr.appendChild(g);
      var c = el('td', 'conf', Number(x.confidence).toFixed(2));
      if (x.review) { c.appendChild(el('span', 'badge review', 'review')); }
      tr.appendChild(c);
      tr.appendChild(el('td', 'where', (x.evidence || []).map(where).join(' | ')));
      var act = el('td', 'act');
      [['accept', '✓', 'accept (a)'], ['fix', '✎', 'fix: select the right text, or type it (e)'],
       ['absent', '∅', 'not in the document (x)']].forEach(function (b) {
        var btn = el('button', 'b-' + b[0], b[1]); btn.type = 'button'; btn.title = b[2];
        btn.setAttribute('data-act', b[0]); act.appendChild(btn);
      });
      if (d) { act.appendChild(el('span', 'who', d.action + ' · ' + (d.by || '') + ' ' + (d.at || ''))); }
      tr.appendChild(act);
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    if (!(doc.record.extractions || []).length) { var p = el('p', 'meta', 'No fields extracted.'); return p; }
    return t;
  }

  function displayValue(v) {
    if (v === null || v === undefined) { return ''; }
    if (typeof v === 'object' && 'amount' in v && 'currency' in v) { return v.amount + ' ' + v.currency; }
    if (typeof v === 'object') { return JSON.stringify(v); }
    return String(v);
  }

  function boxesOf(doc) {  // [{row, page, x0, y0, x1, y1}] top-left page units
    var out = [], heights = {};
    doc.pages.forEach(function (p) { heights[p.n] = p.height; });
    (doc.record.extractions || []).forEach(function (x, i) {
      (x.evidence || []).forEach(function (ev) {
        (ev.prov || []).forEach(function (p) {
          (p.bboxes || []).forEach(function (b) {
            var y0 = b[1], y1 = b[3];
            if (p.origin === 'bottom-left') { y0 = heights[p.page] - b[3]; y1 = heights[p.page] - b[1]; }
            out.push({ row: i, page: p.page, x0: b[0], y0: y0, x1: b[2], y1: y1 });
          });
        });
      });
    });
    return out;
  }

  function pct(v, total) { return (100 * v / total) + '%'; }

  function pagesView(doc) {
    var wrap = el('div', 'pages');
    var boxes = boxesOf(doc);
    doc.pages.forEach(function (pg) {
      if (!pg.image) { return; }
      var page = el('div', 'page');
      page.id = 'page-' + doc.key + '-' + pg.n;
      page.setAttribute('data-page', String(pg.n));
      var img = el('img'); img.alt = 'page ' + pg.n; img.draggable = false;
      if (API) {
        api(pg.image.slice(API.length)).then(function (r) { return r.blob(); })
          .then(function (b) { img.src = URL.createObjectURL(b); })
          .catch(function (e) { page.appendChild(el('div', 'error', 'page image: ' + e.message)); });
      } else { img.src = pg.image; }
      page.appendChild(img);
      boxes.forEach(function (b) {
        if (b.page !== pg.n) { return; }
        var d = el('div', 'box');
        var x = doc.record.extractions[b.row];
        if (uncertain(doc, x)) { d.classList.add('uncertain'); }
        if (b.row === S.row) { d.classList.add('selected'); }
        d.setAttribute('data-row', String(b.row));
        d.title = x.path + ' = ' + displayValue(x.value);
        d.style.left = pct(b.x0, pg.width); d.style.top = pct(b.y0, pg.height);
        d.style.width = pct(b.x1 - b.x0, pg.width); d.style.height = pct(b.y1 - b.y0, pg.height);
        page.appendChild(d);
      });
      if (S.proposal && S.proposal.page === pg.n && S.proposal.boxes) {
        S.proposal.boxes.forEach(function (w) {
          var p = el('div', 'pick');
          p.style.left = pct(w[3], pg.width); p.style.top = pct(w[4], pg.height);
          p.style.width = pct(w[5] - w[3], pg.width); p.style.height = pct(w[6] - w[4], pg.height);
          page.appendChild(p);
        });
      }
      page.appendChild(el('div', 'pno', 'page ' + pg.n));
      wrap.appendChild(page);
    });
    return wrap;
  }

  function colIndex(letters) {
    var n = 0;
    for (var i = 0; i < letters.length; i++) { n = n * 26 + (letters.charCodeAt(i) - 64); }
    return n;
  }
  function colName(n) { var s = ''; while (n > 0) { var m = (n - 1) % 26; s = String.fromCharCode(65 + m) + s; n = (n - m - 1) / 26; } return s; }

  function sheetView(doc) {  // the sheets as grids, evidence cells highlighted; a click proposes a cell's text
    var MAXR = 500, MAXC = 60, sheets = {}, order = [], evRows = {};
    (doc.record.extractions || []).forEach(function (x, i) {
      (x.evidence || []).forEach(function (ev) {
        (ev.prov || []).forEach(function (p) { if (p.sheet_cell) { (evRows[p.sheet_cell] = evRows[p.sheet_cell] || []).push(i); } });
      });
    });
    doc.cells.forEach(function (c) {
      var k = c[0].lastIndexOf('!'), name = c[0].slice(0, k), m = /^([A-Z]+)(\d+)$/.exec(c[0].slice(k + 1));
      if (!m) { return; }
      if (!sheets[name]) { sheets[name] = {}; order.push(name); }
      sheets[name][m[2] + ':' + colIndex(m[1])] = c;
    });
    var wrap = el('div', 'sheets');
    order.forEach(function (name) {
      var cells = sheets[name], maxr = 0, maxc = 0;
      Object.keys(cells).forEach(function (k) { var p = k.split(':'); maxr = Math.max(maxr, +p[0]); maxc = Math.max(maxc, +p[1]); });
      wrap.appendChild(el('div', 'meta', 'Sheet ' + name + (maxr > MAXR || maxc > MAXC ? ' (first ' + MAXR + ' rows, ' + MAXC + ' columns)' : '')));
      var t = el('table', 'sheet'), hr = el('tr');
      hr.appendChild(el('th'));
      for (var c = 1; c <= Math.min(maxc, MAXC); c++) { hr.appendChild(el('th', null, colName(c))); }
      t.appendChild(hr);
      for (var r = 1; r <= Math.min(maxr, MAXR); r++) {
        var tr = el('tr');
        tr.appendChild(el('th', null, String(r)));
        for (c = 1; c <= Math.min(maxc, MAXC); c++) {
          var cell = cells[r + ':' + c], td = el('td', 'cell');
          if (cell) {
            td.textContent = shown(cpSlice(doc, cell[1], cell[2]));
            td.setAttribute('data-s', String(cell[1])); td.setAttribute('data-e', String(cell[2]));
            td.title = cell[0];
            var rows = evRows[cell[0]];
            if (rows) {
              td.classList.add('ev'); td.setAttribute('data-rows', rows.join(' '));
              if (rows.some(function (i) { return uncertain(doc, doc.record.extractions[i]); })) { td.classList.add('uncertain'); }
              if (rows.indexOf(S.row) >= 0) { td.classList.add('selected'); }
            }
            if (S.proposal && S.proposal.start === cell[1] && S.proposal.end === cell[2]) { td.classList.add('pick'); }
          }
          tr.appendChild(td);
        }
        t.appendChild(tr);
      }
      wrap.appendChild(t);
    });
    return wrap;
  }

  function textView(doc) {
    var text = cps(doc), n = text.length;
    var marks = [];  // [start, end, kind, data]
    (doc.record.extractions || []).forEach(function (x, i) {
      (x.evidence || []).forEach(function (ev) {
        if (ev.end <= n) { marks.push([ev.start, ev.end, 'ev', i]); }
        (ev.prov || []).forEach(function (p) {
          if ((p.dom_path || p.sheet_cell || p.mime_part) && p.end <= n) {
            marks.push([p.start, p.end, 'node', p.dom_path || p.sheet_cell || ('part ' + p.mime_part)]);
          }
        });
      });
    });
    doc.layers.forEach(function (l) { marks.push([l[0], l[1], 'layer', l[2]]); });
    if (S.proposal && S.proposal.start !== null && S.proposal.start !== undefined) {
      marks.push([S.proposal.start, S.proposal.end, 'pick', null]);
    }
    var cuts = [0, n];
    marks.forEach(function (m) { cuts.push(m[0], m[1]); });
    cuts = cuts.filter(function (c, i) { return cuts.indexOf(c) === i && c >= 0 && c <= n; })
      .sort(function (a, b) { return a - b; });
    var det = el('details', 'text'); det.open = true;
    det.appendChild(el('summary', null, 'Document text (' + n.toLocaleString() + ' chars)' +
      (doc.layers.length ? ' — furniture, hidden and metadata text styled apart' : '')));
    var pre = el('div', 'doctext'); pre.id = 'text-' + doc.key;
    for (var k = 0; k + 1 < cuts.length; k++) {
      var a = cuts[k], b = cuts[k + 1];
      if (a === b) { continue; }
      var seg = el('span', 'seg', shown(text.slice(a, b).join('')));
      seg.setAttribute('data-s', String(a));
      var rows = [], nodes = [];
      marks.forEach(function (m) {
        if (m[0] <= a && b <= m[1] && m[0] < m[1]) {
          if (m[2] === 'ev') { rows.push(m[3]); seg.classList.add('ev'); }
          if (m[2] === 'node') { nodes.push(m[3]); seg.classList.add('node'); }
          if (m[2] === 'layer') { seg.classList.add('l-' + m[3]); seg.title = m[3] + ' text (not rendered)'; }
          if (m[2] === 'pick') { seg.classList.add('pick'); }
        }
      });
      if (rows.length) {
        seg.setAttribute('data-rows', rows.join(' '));
        if (rows.some(function (r) { return uncertain(doc, doc.record.extractions[r]); })) { seg.classList.add('uncertain'); }
        if (rows.indexOf(S.row) >= 0) { seg.classList.add('selected'); }
      }
      if (nodes.length) { seg.setAttribute('data-node', nodes.join(' | ')); if (!seg.title) { seg.title = nodes[0]; } }
      pre.appendChild(seg);
    }
    det.appendChild(pre);
    return det;
  }

  // ------------------------------------------------------------------ selection, flashing, proposals
  function flash(node) { node.classList.remove('flash'); void node.offsetWidth; node.classList.add('flash'); }
  function selectRow(i, scroll) {
    var doc = S.docs[S.cur];
    if (!doc || !(doc.record.extractions || [])[i]) { return; }
    S.row = i;
    render();
    var tr = document.getElementById('row-' + doc.key + '-' + i);
    if (tr && scroll !== false) { tr.scrollIntoView({ block: 'nearest' }); }
    var targets = document.querySelectorAll('.box[data-row="' + i + '"], .seg[data-rows~="' + i + '"], td.cell[data-rows~="' + i + '"]');
    if (targets.length) { targets[0].scrollIntoView({ block: 'center' }); }
    for (var k = 0; k < targets.length; k++) { flash(targets[k]); }
  }
  function propose(p) {
    var doc = S.docs[S.cur];
    S.proposal = p;
    render();
    var box = document.getElementById('proposal');
    box.hidden = false;
    var fs = document.getElementById('prop-field');
    fs.textContent = '';
    var paths = [];
    (doc.record.extractions || []).forEach(function (x) { if (paths.indexOf(x.path) < 0) { paths.push(x.path); } });
    S.fields.forEach(function (f) { if (paths.indexOf(f) < 0) { paths.push(f); } });
    paths.forEach(function (pth) { var o = el('option', null, pth); o.value = pth; fs.appendChild(o); });
    var cur = (doc.record.extractions || [])[S.row];
    if (cur) { fs.value = cur.path; }
    var vi = document.getElementById('prop-value');
    vi.value = p.value || '';
    document.getElementById('prop-where').textContent =
      p.start !== null && p.start !== undefined ? 'chars ' + p.start + '–' + p.end + (p.page ? ', page ' + p.page : '') : 'typed';
    (p.value ? fs : vi).focus();
  }
  function closeProposal() {
    S.proposal = null; document.getElementById('proposal').hidden = true; render();
  }
  function applyProposal() {
    var doc = S.docs[S.cur], p = S.proposal;
    if (!p) { return; }
    var path = document.getElementById('prop-field').value;
    var value = document.getElementById('prop-value').value;
    if (!path || !value.trim()) { status('choose a field and a value'); return; }
    var keepSpan = p.start !== null && p.start !== undefined;
    S.proposal = null; document.getElementById('proposal').hidden = true;
    correct(doc, path, 'edit', value, keepSpan ? p.start : null, keepSpan ? p.end : null);
  }
  function offsetIn(node, off) {  // a DOM (node, offset) inside the text view → code-point offset
    var seg = node.nodeType === 1 ? node : node.parentElement;
    while (seg && !(seg.classList && seg.classList.contains('seg'))) {
      if (seg.classList && seg.classList.contains('doctext')) {  // between segments
        var kids = seg.childNodes, idx = Math.min(off, kids.length);
        if (idx < kids.length) { return +kids[idx].getAttribute('data-s'); }
        return cps(S.docs[S.cur]).length;
      }
      seg = seg.parentElement;
    }
    if (!seg) { return null; }
    var within = node.nodeType === 3 ? Array.from(node.data.slice(0, off)).length : (off ? Array.from(seg.textContent).length : 0);
    return +seg.getAttribute('data-s') + within;
  }
  function onTextSelect() {
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) { return false; }
    var r = sel.getRangeAt(0);
    var a = offsetIn(r.startContainer, r.startOffset), b = offsetIn(r.endContainer, r.endOffset);
    if (a === null || b === null || a >= b) { return false; }
    var doc = S.docs[S.cur];
    var raw = cpSlice(doc, a, b), lead = raw.length - raw.replace(/^\s+/, '').length;
    var trimmed = raw.trim();
    if (!trimmed) { return false; }
    a += Array.from(raw.slice(0, lead)).length;
    b = a + Array.from(trimmed).length;
    sel.removeAllRanges();
    propose({ start: a, end: b, value: trimmed });
    return true;
  }
  function onPageClick(ev, pageEl) {
    var doc = S.docs[S.cur], n = +pageEl.getAttribute('data-page');
    var pg = doc.pages.filter(function (p) { return p.n === n; })[0];
    var rect = pageEl.getBoundingClientRect();
    var x = (ev.clientX - rect.left) / rect.width * pg.width, y = (ev.clientY - rect.top) / rect.height * pg.height;
    var hit = null;
    doc.words.forEach(function (w) { if (w[2] === n && w[3] <= x && x <= w[5] && w[4] <= y && y <= w[6]) { hit = w; } });
    var boxEl = ev.target.closest('.box');
    if (boxEl && !hit) { selectRow(+boxEl.getAttribute('data-row')); return; }
    if (!hit) { return; }
    if (boxEl) { S.row = +boxEl.getAttribute('data-row'); }
    var p = S.proposal;
    if (ev.shiftKey && p && p.page === n && p.start !== null) {
      var a = Math.min(p.start, hit[0]), b = Math.max(p.end, hit[1]);
      var words = doc.words.filter(function (w) { return w[2] === n && w[0] >= a && w[1] <= b; });
      propose({ start: a, end: b, value: cpSlice(doc, a, b).replace(/\s+/g, ' ').trim(), page: n, boxes: words });
    } else {
      propose({ start: hit[0], end: hit[1], value: cpSlice(doc, hit[0], hit[1]), page: n, boxes: [hit] });
    }
  }

  // ------------------------------------------------------------------ navigation
  function nextUncertain(step) {
    var flat = [], here = -1;
    S.docs.forEach(function (doc, d) {
      (doc.record.extractions || []).forEach(function (x, i) {
        if (d === S.cur && i === S.row) { here = flat.length; }
        flat.push([d, i, uncertain(doc, x) && !decision(doc, x.path)]);
      });
    });
    if (here < 0) { here = step > 0 ? -1 : flat.length; }
    for (var k = 1; k <= flat.length; k++) {
      var f = flat[(((here + step * k) % flat.length) + flat.length) % flat.length];
      if (f[2]) { S.cur = f[0]; S.proposal = null; selectRow(f[1]); return; }
    }
    status('no unreviewed uncertain value left');
  }
  function act(name, i) {
    var doc = S.docs[S.cur], x = (doc.record.extractions || [])[i];
    if (!x) { return; }
    S.row = i;
    if (name === 'accept') { correct(doc, x.path, 'accept'); }
    if (name === 'absent') { correct(doc, x.path, 'absent'); }
    if (name === 'fix') {
      if (!onTextSelect()) { propose({ start: null, end: null, value: displayValue(x.value) }); }
    }
  }
  function updateProgress() {
    var total = 0, done = 0;
    S.docs.forEach(function (doc) {
      (doc.record.extractions || []).forEach(function (x) { total++; if (decision(doc, x.path)) { done++; } });
    });
    var p = document.getElementById('progress');
    if (p) { p.textContent = done + '/' + total + ' values reviewed'; }
  }

  // ------------------------------------------------------------------ chrome and events
  function chrome() {
    var top = el('header', 'top');
    top.appendChild(el('h1', null, S.title));
    var sel = el('select'); sel.id = 'docsel'; sel.title = 'document ([ and ])';
    S.docs.forEach(function (d, i) {
      var o = el('option', null, (i + 1) + '. ' + baseName(d));
      o.value = String(i); sel.appendChild(o);
    });
    top.appendChild(sel);
    var who = el('input'); who.id = 'reviewer'; who.placeholder = 'your name'; who.title = 'stored with each correction';
    try { who.value = localStorage.getItem('evidex-reviewer') || ''; } catch (e) { /* ignore */ }
    top.appendChild(who);
    var ex = el('button', null, 'Export gold JSONL'); ex.id = 'export'; ex.type = 'button'; top.appendChild(ex);
    top.appendChild(el('span', 'meta', '')).id = 'progress';
    top.appendChild(el('div', 'meta keys',
      'j/k next/previous uncertain value · a accept · e fix (select text or click a word on the page first) · ' +
      'x not in document · Enter set · Esc cancel · [ ] document'));
    document.body.appendChild(top);
    var app = el('main'); app.id = 'app'; document.body.appendChild(app);
    var prop = el('div', 'proposal'); prop.id = 'proposal'; prop.hidden = true;
    prop.appendChild(el('span', null, 'Set '));
    var fs = el('select'); fs.id = 'prop-field'; prop.appendChild(fs);
    prop.appendChild(el('span', null, ' = '));
    var vi = el('input'); vi.id = 'prop-value'; vi.size = 40; prop.appendChild(vi);
    var ok = el('button', null, 'Set'); ok.id = 'prop-ok'; ok.type = 'button'; prop.appendChild(ok);
    var no = el('button', null, 'Cancel'); no.id = 'prop-cancel'; no.type = 'button'; prop.appendChild(no);
    prop.appendChild(el('span', 'meta', '')).id = 'prop-where';
    document.body.appendChild(prop);
    var st = el('div', 'status'); st.id = 'status'; st.setAttribute('role', 'status'); document.body.appendChild(st);

    sel.addEventListener('change', function () { S.cur = +sel.value; S.row = -1; S.proposal = null; render(); });
    who.addEventListener('change', function () { try { localStorage.setItem('evidex-reviewer', who.value); } catch (e) { /* */ } });
    ex.addEventListener('click', exportGold);
    ok.addEventListener('click', applyProposal);
    no.addEventListener('click', closeProposal);
    app.addEventListener('click', function (ev) {
      var t = ev.target;
      var b = t.closest('button[data-act]');
      if (b) { act(b.getAttribute('data-act'), +b.closest('tr').getAttribute('data-row')); return; }
      var link = t.closest('a.evlink');
      if (link) { ev.preventDefault(); selectRow(+link.closest('tr').getAttribute('data-row')); return; }
      var page = t.closest('.page');
      if (page) { onPageClick(ev, page); return; }
      var cell = t.closest('td.cell[data-s]');
      if (cell) {
        if (cell.hasAttribute('data-rows')) { S.row = +cell.getAttribute('data-rows').split(' ')[0]; }
        var cs = +cell.getAttribute('data-s'), ce = +cell.getAttribute('data-e');
        propose({ start: cs, end: ce, value: cpSlice(S.docs[S.cur], cs, ce).trim() });
        return;
      }
      var tr = t.closest('tr.row');
      if (tr) { selectRow(+tr.getAttribute('data-row'), false); return; }
      var seg = t.closest('.seg[data-rows]');
      if (seg && window.getSelection().isCollapsed) {
        var r = +seg.getAttribute('data-rows').split(' ')[0];
        S.row = r; render();
        var row = document.getElementById('row-' + S.docs[S.cur].key + '-' + r);
        if (row) { row.scrollIntoView({ block: 'center' }); flash(row); }
      }
    });
    app.addEventListener('mouseup', function (ev) {
      if (ev.target.closest('.doctext')) { setTimeout(onTextSelect, 0); }
    });
    document.addEventListener('keydown', function (ev) {
      var inForm = /INPUT|SELECT|TEXTAREA/.test((ev.target && ev.target.tagName) || '');
      if (ev.key === 'Escape') { closeProposal(); return; }
      if (ev.key === 'Enter' && S.proposal) { ev.preventDefault(); applyProposal(); return; }
      if (inForm || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      var k = ev.key;
      if (k === 'j' || k === 'n') { nextUncertain(1); } else if (k === 'k' || k === 'p') { nextUncertain(-1); }
      else if (k === 'a') { act('accept', S.row); } else if (k === 'x') { act('absent', S.row); }
      else if (k === 'e' || k === 'f') { act('fix', S.row); }
      else if (k === ']' || k === '[') {
        S.cur = (S.cur + (k === ']' ? 1 : -1) + S.docs.length) % S.docs.length; S.row = -1; S.proposal = null; render();
      } else { return; }
      ev.preventDefault();
    });
  }

  function start(data) {
    S.docs = data.docs || [];
    S.fields = data.fields || [];
    S.threshold = typeof data.threshold === 'number' ? data.threshold : null;
    if (data.title) { S.title = data.title; document.title = data.title; }
    chrome();
    render();
    body.setAttribute('data-ready', 'true');
  }

  if (API) {
    initToken();
    api('/review').then(function (r) { return r.json(); }).then(function (data) {
      (data.corrections || []).forEach(keep);
      start(data);
    }).catch(function (e) {
      var p = el('p', 'error', 'Cannot load the review: ' + e.message +
        ' (open the URL printed by evidex serve, with #token=…)');
      document.body.appendChild(p);
      body.setAttribute('data-ready', 'error');
    });
  } else {
    var block = document.getElementById('evidex-data');
    var data = JSON.parse(block ? block.textContent : '{"docs":[]}');
    S.docs = data.docs || [];
    loadLocal();
    start(data);
  }
}());
