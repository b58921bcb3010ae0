'use strict';
// The colorize page: sends each photo to POST /api/colorize (two at a time), shows a
// progress bar per photo, then the black-and-white input and the colorized result
// under a before/after slider, with downloads. With a hinted model, clicks on a result
// place colour hints and the photo is colorized again (by the id the server keeps it
// under, without sending it again). With a model that has a bins head, a reference
// photo or a palette guides the colours, and each result can show where the model is
// unsure, suggest where to click, and offer variants.

const $ = (selector, root = document) => root.querySelector(selector);
const SIZES = [128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 1024];
const MAX_ACTIVE = 2; // requests in flight from this page
const MAX_BUSY_RETRIES = 30;

const app = { health: null, items: [], queue: [], active: 0, nextId: 1 };
const REFERENCE_SIDE = 256; // the reference is sent as a copy this large (the server counts 128 px)
const MAX_PALETTE = 12;
const SUGGESTIONS = 5;
const guide = { reference: null, referenceName: '', referenceUrl: null, palette: [], strength: null };

// ---- the server and the options -------------------------------------------------

async function loadHealth() {
  const status = $('#server-status');
  try {
    const response = await fetch('/api/health', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    app.health = await response.json();
  } catch (error) {
    status.textContent = 'server not reachable, retrying…';
    status.className = 'server-status bad';
    setTimeout(loadHealth, 3000);
    return;
  }
  document.querySelectorAll('.survey-link').forEach((a) => { a.hidden = !app.health.survey; });
  if (!app.health.model_loaded) {
    status.textContent = 'survey only: no model loaded';
    status.className = 'server-status bad';
    $('#drop').classList.add('off');
    $('#files').disabled = true;
    $('#limits-hint').textContent = 'This server runs the survey only (--survey-only): it colorizes nothing.';
    return;
  }
  const { options, limits } = app.health;
  status.textContent = `model ready · ${app.health.model} · ${options.size} px`;
  status.className = 'server-status ok';
  const mb = limits.max_bytes / 1048576;
  const mp = limits.max_pixels / 1e6;
  $('#limits-hint').textContent += ` Up to ${+mb.toFixed(1)} MB and ${+mp.toFixed(1)} megapixels each.`;
  setUpOptions(options, limits);
  if (app.health.guidance) setUpGuidance(app.health.guide_strengths || { reference: app.health.guide_strength, palette: app.health.guide_strength });
}

function setUpOptions(defaults, limits) {
  const select = $('#size');
  select.replaceChildren(new Option(`${defaults.size} px (the model's)`, ''));
  for (const size of SIZES) {
    if (size !== defaults.size && size >= limits.size_range[0] && size <= limits.size_range[1]) {
      select.add(new Option(`${size} px`, String(size)));
    }
  }
  for (const name of ['temperature', 'blend']) {
    const value = defaults[name];
    document.querySelectorAll(`.${name}-row`).forEach((el) => { el.hidden = value === null; });
    const input = $(`#${name}`);
    const output = $(`#${name}-value`);
    if (value === null) continue;
    input.value = value;
    output.textContent = Number(value).toFixed(2);
    input.addEventListener('input', () => { output.textContent = Number(input.value).toFixed(2); });
  }
  $('#reset-options').addEventListener('click', () => {
    select.value = '';
    $('#quality').value = '';
    for (const name of ['temperature', 'blend']) {
      if (defaults[name] === null) continue;
      $(`#${name}`).value = defaults[name];
      $(`#${name}-value`).textContent = Number(defaults[name]).toFixed(2);
    }
    $('#compare').checked = false;
  });
}

function currentOptions() {
  const defaults = app.health ? app.health.options : {};
  const fields = {};
  if ($('#size').value) fields.size = $('#size').value;
  if ($('#quality').value) fields.quality = $('#quality').value;
  for (const name of ['temperature', 'blend']) {
    const value = Number($(`#${name}`).value);
    if (defaults[name] != null && Math.abs(value - defaults[name]) > 1e-9) fields[name] = String(value);
  }
  return { fields, compare: $('#compare').checked };
}

// ---- photos -----------------------------------------------------------------------

function addFiles(files) {
  if (app.health && !app.health.model_loaded) return;
  for (const file of files) {
    const card = $('#card-template').content.firstElementChild.cloneNode(true);
    const item = {
      id: app.nextId++, file, options: currentOptions(), card, results: {}, urls: [], hints: [], imageId: null,
      guide: currentGuide(),
    };
    $('.name', card).textContent = file.name;
    $('.meta', card).textContent = formatBytes(file.size);
    $('.slider', card).addEventListener('input', (event) => {
      $('.viewer', card).style.setProperty('--pos', `${event.target.value}%`);
    });
    $('.retry', card).addEventListener('click', () => {
      $('.retry', card).hidden = true;
      card.classList.remove('failed');
      item.started = undefined;
      item.results = {};
      enqueue(item);
    });
    $('#results').append(card);
    app.items.push(item);
    enqueue(item);
  }
  updateToolbar();
}

function enqueue(item) {
  setCardState(item, 'waiting', 'waiting…', 0);
  app.queue.push(item);
  pump();
}

function pump() {
  while (app.active < MAX_ACTIVE && app.queue.length) {
    const item = app.queue.shift();
    app.active += 1;
    process(item).finally(() => {
      app.active -= 1;
      pump();
      updateToolbar();
    });
  }
}

async function process(item) {
  const compare = item.options.compare;
  try {
    const colour = await send(item, 'colorized', 0, compare ? 60 : 100);
    item.results.colorized = colour;
    item.imageId = colour.imageId || item.imageId;
    showResult(item, colour);
    setUpHints(item);
    setUpGuideTools(item);
    if (compare) item.results.compare = await send(item, 'compare', 60, 100);
    showLinks(item);
    setCardState(item, 'done', `done in ${formatSeconds(performance.now() - item.started)}`, 100);
  } catch (error) {
    item.card.classList.add('failed');
    setCardState(item, 'failed', error.message, 100);
    $('.retry', item.card).hidden = !error.retry;
    if (item.results.colorized) showLinks(item);
  }
}

// One request; resolves {blob, name}, rejects with an Error whose message is the
// server's JSON error. 503 (queue full) waits Retry-After seconds and tries again.
async function send(item, output, from, to) {
  item.started = item.started || performance.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendOnce(item, output, from, to);
    } catch (error) {
      if (!error.busy || attempt >= MAX_BUSY_RETRIES) throw error;
      for (let left = error.retryAfter; left > 0; left--) {
        setCardState(item, 'waiting', `server busy, trying again in ${left} s…`, from);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}

function sendOnce(item, output, from, to, report = true) {
  const setState = report ? setCardState : () => {};
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append('file', item.file, item.file.name);
    for (const [key, value] of Object.entries(item.options.fields)) form.append(key, value);
    if (output !== 'colorized') form.append('output', output);
    if (item.hints.length) form.append('hints', hintsJson(item));
    if (output !== 'grey') appendGuide(form, item.guide);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/colorize');
    xhr.responseType = 'blob';
    const span = to - from;
    const what = output === 'compare' ? 'side-by-side image' : 'photo';
    xhr.upload.onprogress = (event) => {
      const share = event.lengthComputable ? event.loaded / event.total : 0;
      setState(item, 'uploading', `uploading ${what}… ${Math.round(100 * share)} %`, from + 0.3 * span * share);
    };
    xhr.upload.onload = () => {
      item.workStarted = performance.now();
      setState(item, 'colorizing', output === 'grey' ? 'reading…' : 'colorizing…', from + 0.3 * span, true);
    };
    xhr.onprogress = (event) => {
      if (xhr.readyState < 3 || !event.lengthComputable) return;
      setState(item, 'receiving', 'receiving…', from + span * (0.9 + 0.1 * event.loaded / event.total));
    };
    xhr.onerror = () => {
      const error = new Error('no answer from the server: is it still running?');
      error.retry = true;
      reject(error);
    };
    xhr.onload = async () => {
      if (xhr.status === 200) {
        resolve({
          blob: xhr.response,
          name: outputName(item.file.name, output, xhr.response.type),
          imageId: xhr.getResponseHeader('X-Image-Id'),
        });
        return;
      }
      let message = `HTTP ${xhr.status}`;
      try {
        message = JSON.parse(await xhr.response.text()).error || message;
      } catch (ignored) { /* not JSON: keep the status */ }
      const error = new Error(message);
      error.retry = xhr.status >= 500;
      if (xhr.status === 503) {
        error.busy = true;
        error.retryAfter = Math.max(1, parseInt(xhr.getResponseHeader('Retry-After'), 10) || 2);
      }
      reject(error);
    };
    xhr.send(form);
  });
}

function showResult(item, colour) {
  const card = item.card;
  const after = $('.after', card);
  const before = $('.before', card);
  const url = remember(item, URL.createObjectURL(colour.blob));
  after.src = url;
  // The browser shows the upload in grey; for what it cannot decode (TIFF), the
  // server sends the grey the network saw.
  before.onerror = async () => {
    before.onerror = null;
    try {
      const grey = await sendOnce(item, 'grey', 100, 100, false);
      before.src = remember(item, URL.createObjectURL(grey.blob));
    } catch (error) {
      before.hidden = true;
    }
  };
  before.src = remember(item, URL.createObjectURL(item.file));
  after.onload = () => {
    $('.meta', card).textContent = `${after.naturalWidth} × ${after.naturalHeight} · ${formatBytes(item.file.size)}`;
  };
  $('.viewer', card).hidden = false;
}

function showLinks(item) {
  const card = item.card;
  const colour = item.results.colorized;
  const download = $('.download', card);
  download.href = $('.after', card).src;
  download.download = colour.name;
  download.textContent = `Download ${colour.name}`;
  $('.full', card).href = $('.after', card).src;
  if (item.results.compare) {
    const link = $('.download-compare', card);
    link.href = remember(item, URL.createObjectURL(item.results.compare.blob));
    link.download = item.results.compare.name;
    link.hidden = false;
  }
  $('.links', card).hidden = false;
}

function setCardState(item, name, text, percent, indeterminate = false) {
  const card = item.card;
  card.dataset.state = name;
  item.stateText = text;
  $('.state', card).textContent = text;
  const progress = $('.progress', card);
  progress.classList.toggle('indeterminate', indeterminate);
  progress.setAttribute('aria-valuenow', String(Math.round(percent)));
  $('.bar', card).style.width = `${percent}%`;
}

function tick() {
  for (const item of app.items) {
    if (item.card.dataset.state === 'colorizing') {
      $('.state', item.card).textContent = `${item.stateText} ${formatSeconds(performance.now() - item.workStarted)}`;
    }
  }
}

// ---- colour hints -------------------------------------------------------------------

// The hints of a photo are [{x, y, color: '#rrggbb'}], pixels of the photo as shown:
// the JSON of infer.py --hints.
function hintsJson(item) {
  return JSON.stringify(item.hints.map(({ x, y, color }) => ({ x, y, color })));
}

function hintsBlob(item) {
  return new Blob([hintsJson(item) + '\n'], { type: 'application/json' });
}

function hintsName(item) {
  return `${item.file.name.replace(/\.[^.]*$/, '') || 'photo'}_hints.json`;
}

function setUpHints(item) {
  const card = item.card;
  if (item.hintsReady) return;
  item.hintsReady = true;
  $('.hints-panel', card).hidden = false;
  if (!app.health.hints) {
    $('.hint-mode', card).disabled = true;
    $('.hint-colour', card).disabled = true;
    $('.hints-note', card).textContent = 'This model takes no colour hints: start the app '
      + 'with a hinted model (--model) to place them.';
    return;
  }
  $('.hints-note', card).textContent = 'Turn on "Add colour hints" and click the photo '
    + 'where a colour belongs (only its hue and saturation are used); every change '
    + 'colorizes the photo again.';
  $('.hint-mode', card).addEventListener('click', () => {
    const on = !item.hinting;
    item.hinting = on;
    $('.hint-mode', card).setAttribute('aria-pressed', String(on));
    $('.hint-mode', card).textContent = on ? 'Done placing hints' : 'Add colour hints';
    $('.viewer', card).classList.toggle('hinting', on);
  });
  $('.viewer', card).addEventListener('click', (event) => {
    if (item.hinting) placeHint(item, event);
  });
  $('.hints-clear', card).addEventListener('click', () => {
    item.hints = [];
    hintsChanged(item);
  });
  renderHints(item);
}

function placeHint(item, event) {
  const image = $('.after', item.card);
  const box = image.getBoundingClientRect();
  const width = image.naturalWidth;
  const height = image.naturalHeight;
  if (!width || !box.width) return;
  const clamp = (value, size) => Math.min(size - 1, Math.max(0, Math.floor(value)));
  const x = clamp(((event.clientX - box.left) / box.width) * width, width);
  const y = clamp(((event.clientY - box.top) / box.height) * height, height);
  item.hints.push({ x, y, color: $('.hint-colour', item.card).value });
  hintsChanged(item);
}

function hintsChanged(item) {
  renderHints(item);
  recolorize(item);
}

function renderHints(item) {
  const card = item.card;
  const image = $('.after', card);
  const markers = $('.markers', card);
  const list = $('.hint-list', card);
  markers.replaceChildren();
  list.replaceChildren();
  item.hints.forEach((hint, index) => {
    const marker = document.createElement('span');
    marker.className = 'marker';
    marker.style.left = `${(100 * (hint.x + 0.5)) / image.naturalWidth}%`;
    marker.style.top = `${(100 * (hint.y + 0.5)) / image.naturalHeight}%`;
    marker.style.background = hint.color;
    markers.append(marker);

    const entry = document.createElement('li');
    entry.dataset.x = hint.x;
    entry.dataset.y = hint.y;
    const colour = document.createElement('input');
    colour.type = 'color';
    colour.value = hint.color;
    colour.setAttribute('aria-label', `colour of hint ${index + 1}`);
    colour.addEventListener('change', () => {
      hint.color = colour.value;
      hintsChanged(item);
    });
    const where = document.createElement('span');
    where.textContent = ` x ${hint.x}, y ${hint.y}`;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'link remove-hint';
    remove.textContent = 'remove';
    remove.addEventListener('click', () => {
      item.hints.splice(index, 1);
      hintsChanged(item);
    });
    entry.append(colour, where, remove);
    list.append(entry);
  });
  const download = $('.hints-download', card);
  if (item.hintsUrl) URL.revokeObjectURL(item.hintsUrl);
  item.hintsUrl = item.hints.length ? URL.createObjectURL(hintsBlob(item)) : null;
  download.hidden = !item.hints.length;
  download.href = item.hintsUrl || '#';
  download.download = hintsName(item);
  $('.hints-clear', card).hidden = !item.hints.length;
}

// Colorizes the photo again with its current hints; a change made meanwhile is sent
// when the answer is in (answers to older hints are not shown).
async function recolorize(item) {
  if (item.recolorizing) {
    item.recolorizeAgain = true;
    return;
  }
  const card = item.card;
  item.recolorizing = true;
  card.dataset.hints = 'busy';
  try {
    do {
      item.recolorizeAgain = false;
      const count = item.hints.length;
      setHintsState(item, `colorizing with ${plural(count, 'hint')}…`);
      const started = performance.now();
      const colour = await sendHinted(item, 'colorized');
      if (item.recolorizeAgain) continue;
      const compare = item.options.compare ? await sendHinted(item, 'compare') : null;
      if (item.recolorizeAgain) continue;
      item.results.colorized = colour;
      if (compare) item.results.compare = compare;
      await showColour(item, colour);
      showLinks(item);
      setHintsState(item, `${plural(count, 'hint')} · ${formatSeconds(performance.now() - started)}`);
    } while (item.recolorizeAgain);
    card.dataset.hints = 'idle';
    if (item.showUncertainty) refreshUncertainty(item);
  } catch (error) {
    card.dataset.hints = 'failed';
    setHintsState(item, error.message);
  } finally {
    item.recolorizing = false;
  }
}

function setHintsState(item, text) {
  $('.hints-state', item.card).textContent = text;
}

// One request for the photo kept on the server (or the file, if the server no longer
// keeps it: 410) with the current hints; 503 waits Retry-After seconds and tries again.
async function sendHinted(item, output) {
  const fields = { ...item.options.fields };
  if (output !== 'colorized') fields.output = output;
  const response = await postPhoto(item, '/api/colorize', fields);
  const blob = await response.blob();
  return { blob, name: outputName(item.file.name, output, blob.type) };
}

// POSTs the photo (by id, or the file) with `fields`, its hints and its guidance to
// `path`: the response once it is OK; the server's one-line error otherwise.
async function postPhoto(item, path, fields, report = (text) => setHintsState(item, text)) {
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    if (item.imageId) form.append('image_id', item.imageId);
    else form.append('file', item.file, item.file.name);
    for (const [key, value] of Object.entries(fields)) form.append(key, value);
    if (item.hints.length) form.append('hints', hintsJson(item));
    appendGuide(form, item.guide);
    const response = await fetch(path, { method: 'POST', body: form });
    if (response.ok) {
      item.imageId = response.headers.get('X-Image-Id') || item.imageId;
      return response;
    }
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).error || message;
    } catch (ignored) { /* not JSON: keep the status */ }
    if (response.status === 410 && item.imageId) {
      item.imageId = null; // pushed out of the server's store: send the file
    } else if (response.status === 503 && attempt < MAX_BUSY_RETRIES) {
      const wait = Math.max(1, parseInt(response.headers.get('Retry-After'), 10) || 2);
      report(`server busy, trying again in ${wait} s…`);
      await new Promise((resolve) => setTimeout(resolve, 1000 * wait));
    } else {
      throw new Error(message);
    }
  }
}

// Shows a new colour result in place of the last one (resolves once it is decoded).
function showColour(item, colour) {
  const after = $('.after', item.card);
  const old = after.src;
  return new Promise((resolve) => {
    after.onload = () => {
      after.onload = null;
      if (old.startsWith('blob:')) {
        URL.revokeObjectURL(old);
        item.urls = item.urls.filter((url) => url !== old);
      }
      resolve();
    };
    after.onerror = () => resolve();
    after.src = remember(item, URL.createObjectURL(colour.blob));
  });
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

// ---- guidance: a reference photo or a palette, uncertainty, suggestions, variants ----

// The page's guidance (`guide`) is copied into each photo when it is added, or when
// "Apply guidance" is clicked under it (`item.guide`): null for automatic colours.
function currentGuide() {
  if (!app.health || !app.health.guidance) return null;
  const strength = Number($('#guide-strength').value);
  if (guide.reference) {
    return { reference: guide.reference, name: guide.referenceName, strength };
  }
  if (guide.palette.length) return { palette: [...guide.palette], strength };
  return null;
}

function appendGuide(form, itemGuide) {
  if (!itemGuide) return;
  if (itemGuide.reference) form.append('reference', itemGuide.reference, 'reference.png');
  else form.append('palette', itemGuide.palette.join(','));
  form.append('guide_strength', String(itemGuide.strength));
}

function describeGuide(itemGuide) {
  if (!itemGuide) return 'Automatic colours (no reference photo or palette).';
  const strength = `strength ${itemGuide.strength.toFixed(2)}`;
  if (itemGuide.reference) return `Colours guided by the reference photo ${itemGuide.name} (${strength}).`;
  return `Colours guided by a palette of ${plural(itemGuide.palette.length, 'colour')}: `
    + `${itemGuide.palette.join(', ')} (${strength}).`;
}

// The slider starts at the default of the kind of guide in use (a reference is a
// looser suggestion than chosen colours) until the user moves it.
function setUpGuidance(strengths) {
  $('#guidance').hidden = false;
  const slider = $('#guide-strength');
  const output = $('#guide-strength-value');
  guide.defaults = strengths;
  guide.strengthMoved = false;
  slider.value = strengths.reference;
  output.textContent = Number(slider.value).toFixed(2);
  slider.addEventListener('input', () => {
    guide.strengthMoved = true;
    output.textContent = Number(slider.value).toFixed(2);
  });
  $('#reference-file').addEventListener('change', (event) => {
    setReference(event.target.files[0]);
    event.target.value = '';
  });
  $('#reference-remove').addEventListener('click', () => {
    if (guide.referenceUrl) URL.revokeObjectURL(guide.referenceUrl);
    Object.assign(guide, { reference: null, referenceName: '', referenceUrl: null });
    renderGuidance();
  });
  const zone = $('#reference-drop');
  for (const name of ['dragenter', 'dragover']) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      event.stopPropagation();
      zone.classList.add('hover');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('hover'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    event.stopPropagation(); // a reference, not a photo to colorize
    zone.classList.remove('hover');
    $('#drop').classList.remove('hover');
    if (event.dataTransfer.files.length) setReference(event.dataTransfer.files[0]);
  });
  $('#palette-add').addEventListener('click', () => {
    const colour = $('#palette-colour').value.toLowerCase();
    if (!guide.palette.includes(colour) && guide.palette.length < MAX_PALETTE) guide.palette.push(colour);
    renderGuidance();
  });
  renderGuidance();
}

// A reference is sent as a small PNG (the server counts a 128-pixel copy); what the
// browser cannot decode (TIFF) is sent as it is.
async function setReference(file) {
  if (!file) return;
  let blob = file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, REFERENCE_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    blob = (await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'))) || file;
  } catch (ignored) { /* not decodable here: the server reads it, or says why not */ }
  if (guide.referenceUrl) URL.revokeObjectURL(guide.referenceUrl);
  Object.assign(guide, { reference: blob, referenceName: file.name, referenceUrl: URL.createObjectURL(blob) });
  renderGuidance();
}

function renderGuidance() {
  if (!guide.strengthMoved && guide.defaults) {
    const kind = guide.reference || !guide.palette.length ? 'reference' : 'palette';
    $('#guide-strength').value = guide.defaults[kind];
    $('#guide-strength-value').textContent = Number(guide.defaults[kind]).toFixed(2);
  }
  const thumb = $('#reference-thumb');
  $('#reference-preview').hidden = !guide.reference;
  $('#reference-empty').hidden = Boolean(guide.reference);
  thumb.hidden = false;
  thumb.onerror = () => { thumb.hidden = true; };
  if (guide.reference) thumb.src = guide.referenceUrl;
  else thumb.removeAttribute('src');
  $('#reference-name').textContent = guide.referenceName;
  const list = $('#swatches');
  list.replaceChildren();
  guide.palette.forEach((colour, index) => {
    const entry = document.createElement('li');
    entry.dataset.colour = colour;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    const name = document.createElement('code');
    name.textContent = colour;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'link remove-swatch';
    remove.textContent = '×';
    remove.setAttribute('aria-label', `remove ${colour} from the palette`);
    remove.addEventListener('click', () => {
      guide.palette.splice(index, 1);
      renderGuidance();
    });
    entry.append(swatch, name, remove);
    list.append(entry);
  });
  const full = guide.palette.length >= MAX_PALETTE;
  $('#palette').classList.toggle('unused', Boolean(guide.reference));
  $('#palette-add').disabled = full;
  $('#palette-note').textContent = guide.reference
    ? 'the reference photo is used while it is set'
    : (guide.palette.length ? '' : 'no colours yet');
}

function setGuideState(item, text) {
  $('.guide-state', item.card).textContent = text;
}

function setUpGuideTools(item) {
  const card = item.card;
  const health = app.health;
  if (item.guideReady) return;
  item.guideReady = true;
  const canSuggest = health.suggestions && health.hints;
  if (!(health.guidance || health.uncertainty || canSuggest || health.variants)) return;
  $('.guide-bar', card).hidden = false;
  $('.apply-guidance', card).hidden = !health.guidance;
  $('.uncertainty-row', card).hidden = !health.uncertainty;
  $('.suggest', card).hidden = !canSuggest;
  $('.variants-row', card).hidden = !health.variants;
  $('.guide-note', card).textContent = health.guidance ? describeGuide(item.guide) : '';
  $('.apply-guidance', card).addEventListener('click', () => {
    item.guide = currentGuide();
    $('.guide-note', card).textContent = describeGuide(item.guide);
    clearSuggestions(item);
    $('.variants', card).replaceChildren();
    recolorize(item);
  });
  $('.uncertainty-toggle', card).addEventListener('change', (event) => {
    item.showUncertainty = event.target.checked;
    refreshUncertainty(item);
  });
  $('.suggest', card).addEventListener('click', () => suggestSpots(item));
  $('.make-variants', card).addEventListener('click', () => makeVariants(item));
}

// The heat map of /api/uncertainty over the result (semi-transparent), for the
// photo's current hints and guidance; answers to older requests are dropped.
async function refreshUncertainty(item) {
  const card = item.card;
  const overlay = $('.uncertainty', card);
  const token = (item.uncertaintyToken || 0) + 1;
  item.uncertaintyToken = token;
  if (!item.showUncertainty) {
    overlay.hidden = true;
    card.dataset.uncertainty = 'off';
    return;
  }
  card.dataset.uncertainty = 'busy';
  setGuideState(item, 'measuring the uncertainty…');
  try {
    const response = await postPhoto(item, '/api/uncertainty', {}, (text) => setGuideState(item, text));
    const blob = await response.blob();
    if (token !== item.uncertaintyToken) return;
    const old = overlay.src;
    await new Promise((resolve) => {
      overlay.onload = resolve;
      overlay.onerror = resolve;
      overlay.src = remember(item, URL.createObjectURL(blob));
    });
    if (old && old.startsWith('blob:')) URL.revokeObjectURL(old);
    overlay.hidden = !item.showUncertainty;
    const mean = Number(response.headers.get('X-Uncertainty-Mean'));
    setGuideState(item, `uncertainty shown (bright: unsure; mean ${mean.toFixed(2)})`);
    card.dataset.uncertainty = item.showUncertainty ? 'shown' : 'off';
  } catch (error) {
    if (token !== item.uncertaintyToken) return;
    card.dataset.uncertainty = 'failed';
    setGuideState(item, error.message);
  }
}

async function suggestSpots(item) {
  const card = item.card;
  const button = $('.suggest', card);
  button.disabled = true;
  card.dataset.suggest = 'busy';
  setGuideState(item, 'looking for the spots where a hint helps most…');
  try {
    const response = await postPhoto(item, '/api/suggest', { k: String(SUGGESTIONS) }, (text) => setGuideState(item, text));
    const body = await response.json();
    item.suggestions = body.suggestions.map((spot, index) => ({ ...spot, number: index + 1 }));
    renderSuggestions(item);
    setGuideState(item, item.suggestions.length
      ? `${plural(item.suggestions.length, 'suggested spot')}: click a colour to add it as a hint`
      : 'no spot to suggest');
    card.dataset.suggest = 'idle';
  } catch (error) {
    card.dataset.suggest = 'failed';
    setGuideState(item, error.message);
  } finally {
    button.disabled = false;
  }
}

function clearSuggestions(item) {
  item.suggestions = [];
  renderSuggestions(item);
}

// Numbered markers on the photo, each with its three most likely colours as buttons:
// a click adds that colour as a hint there (as a click in hint mode does).
function renderSuggestions(item) {
  const card = item.card;
  const image = $('.after', card);
  const layer = $('.suggestions', card);
  layer.replaceChildren();
  for (const spot of item.suggestions || []) {
    const entry = document.createElement('li');
    entry.className = 'suggestion';
    entry.dataset.x = spot.x;
    entry.dataset.y = spot.y;
    entry.style.left = `${(100 * (spot.x + 0.5)) / image.naturalWidth}%`;
    entry.style.top = `${(100 * (spot.y + 0.5)) / image.naturalHeight}%`;
    const number = document.createElement('span');
    number.className = 'spot-number';
    number.textContent = String(spot.number);
    const chips = document.createElement('span');
    chips.className = 'chips';
    spot.colours.forEach((colour, index) => {
      const chip = document.createElement('button');
      chip.type = 'button';
      chip.className = 'chip';
      chip.style.background = colour;
      const share = Math.round(100 * spot.probabilities[index]);
      chip.title = `${colour} (${share} %)`;
      chip.setAttribute('aria-label', `spot ${spot.number}: add a ${colour} hint (${share} % likely)`);
      chip.addEventListener('click', (event) => {
        event.stopPropagation(); // not a hint placed by hint mode
        item.hints.push({ x: spot.x, y: spot.y, color: colour });
        item.suggestions = item.suggestions.filter((other) => other !== spot);
        renderSuggestions(item);
        hintsChanged(item);
      });
      chips.append(chip);
    });
    entry.append(number, chips);
    layer.append(entry);
  }
}

async function makeVariants(item) {
  const card = item.card;
  const button = $('.make-variants', card);
  const list = $('.variants', card);
  button.disabled = true;
  card.dataset.variants = 'busy';
  const count = $('.variant-count', card).value;
  item.variantSeed = (item.variantSeed ?? -1) + 1; // other variants at each click
  setGuideState(item, `making ${count} variants…`);
  try {
    const fields = { n: count, seed: String(item.variantSeed) };
    const response = await postPhoto(item, '/api/variants', fields, (text) => setGuideState(item, text));
    const body = await response.json();
    list.replaceChildren();
    body.variants.forEach((variant, index) => {
      const entry = document.createElement('li');
      const choose = document.createElement('button');
      choose.type = 'button';
      choose.className = 'variant';
      choose.setAttribute('aria-pressed', 'false');
      choose.setAttribute('aria-label', `variant ${index + 1}: make it the result`);
      const thumb = document.createElement('img');
      thumb.src = variant.image;
      thumb.alt = `variant ${index + 1}`;
      choose.append(thumb);
      choose.addEventListener('click', () => {
        list.querySelectorAll('.variant').forEach((other) => other.setAttribute('aria-pressed', String(other === choose)));
        item.hints = variant.hints.map(({ x, y, color }) => ({ x, y, color }));
        setGuideState(item, `variant ${index + 1}: its hints are in the list`);
        hintsChanged(item); // the variant at full size
      });
      entry.append(choose);
      list.append(entry);
    });
    setGuideState(item, `${plural(body.variants.length, 'variant')}: choose one to make it the result`);
    card.dataset.variants = 'idle';
  } catch (error) {
    card.dataset.variants = 'failed';
    setGuideState(item, error.message);
  } finally {
    button.disabled = false;
  }
}

// ---- the toolbar --------------------------------------------------------------------

function updateToolbar() {
  const done = app.items.filter((item) => item.card.dataset.state === 'done').length;
  const failed = app.items.filter((item) => item.card.dataset.state === 'failed').length;
  const total = app.items.length;
  $('#download-all').disabled = done === 0;
  $('#clear').disabled = done + failed === 0;
  let text = total ? `${done} of ${total} done` : '';
  if (failed) text += ` · ${failed} failed`;
  $('#summary').textContent = text;
}

async function downloadAll() {
  const button = $('#download-all');
  button.disabled = true;
  const label = button.textContent;
  button.textContent = 'Making the .zip…';
  try {
    const taken = new Set();
    const entries = [];
    for (const item of app.items) {
      for (const key of ['colorized', 'compare']) {
        const result = item.results[key];
        if (!result || item.card.dataset.state !== 'done') continue;
        entries.push({ name: uniqueName(result.name, taken), blob: result.blob });
      }
      if (item.hints.length && item.card.dataset.state === 'done') {
        entries.push({ name: uniqueName(hintsName(item), taken), blob: hintsBlob(item) });
      }
    }
    const zip = await Zip.build(entries);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(zip);
    link.download = 'colorized.zip';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  } finally {
    button.textContent = label;
    updateToolbar();
  }
}

function clearFinished() {
  app.items = app.items.filter((item) => {
    const finished = ['done', 'failed'].includes(item.card.dataset.state);
    if (finished) {
      item.urls.forEach((url) => URL.revokeObjectURL(url));
      if (item.hintsUrl) URL.revokeObjectURL(item.hintsUrl);
      item.card.remove();
    }
    return !finished;
  });
  updateToolbar();
}

// ---- helpers ------------------------------------------------------------------------

function remember(item, url) {
  item.urls.push(url);
  return url;
}

function outputName(name, output, type) {
  const stem = name.replace(/\.[^.]*$/, '') || 'photo';
  const suffix = { colorized: '_colorized', compare: '_compare', grey: '_grey' }[output];
  return `${stem}${suffix}${type === 'image/jpeg' ? '.jpg' : '.png'}`;
}

function uniqueName(name, taken) {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = name.replace(/(\.[^.]*)?$/, ` (${n})$1`);
  taken.add(candidate);
  return candidate;
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1048576).toFixed(1)} MB`;
}

function formatSeconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

// ---- wiring -------------------------------------------------------------------------

function setUpDropping() {
  const drop = $('#drop');
  $('#files').addEventListener('change', (event) => {
    addFiles(event.target.files);
    event.target.value = '';
  });
  for (const name of ['dragenter', 'dragover']) {
    document.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add('hover');
    });
  }
  for (const name of ['dragleave', 'drop']) {
    document.addEventListener(name, (event) => {
      event.preventDefault();
      if (name === 'drop' || event.target === document.documentElement) drop.classList.remove('hover');
    });
  }
  document.addEventListener('drop', (event) => {
    const files = [...event.dataTransfer.files];
    if (files.length) addFiles(files);
  });
}

setUpDropping();
$('#download-all').addEventListener('click', downloadAll);
$('#clear').addEventListener('click', clearFinished);
setInterval(tick, 200);
loadHealth();
