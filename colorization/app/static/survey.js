'use strict';
// The survey page: asks /api/survey/next for a photo, shows it, and sends the answer
// and the time from the photo appearing to the click.

const $ = (selector) => document.querySelector(selector);
const survey = { photo: null, shownAt: 0, busy: false };

function showError(message) {
  const box = $('#error');
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  const response = await fetch(path, { cache: 'no-store', credentials: 'same-origin', ...options });
  let body = {};
  try {
    body = await response.json();
  } catch (ignored) { /* not JSON */ }
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function next() {
  setButtons(false);
  let body;
  try {
    body = await api('/api/survey/next');
  } catch (error) {
    showError(`${error.message} (retrying…)`);
    setTimeout(next, 3000);
    return;
  }
  showError('');
  if (body.done) {
    $('#question').hidden = true;
    $('#done').hidden = false;
    $('#done-text').textContent = body.answered
      ? `You have answered all ${body.answered} photos.`
      : 'There is nothing to answer.';
    return;
  }
  survey.photo = body.photo;
  const total = body.answered + body.remaining;
  $('#progress').textContent = `photo ${body.answered + 1} of ${total}`;
  $('#question').hidden = false;
  const img = $('#photo');
  img.onload = () => {
    survey.shownAt = performance.now();
    setButtons(true);
  };
  img.onerror = () => showError('the photo could not be loaded; reload the page');
  img.src = body.image;
}

async function answer(natural) {
  if (survey.busy || !survey.photo || $('#yes').disabled) return;
  survey.busy = true;
  setButtons(false);
  const responseMs = Math.round(performance.now() - survey.shownAt);
  try {
    await api('/api/survey/vote', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ photo: survey.photo, natural, response_ms: responseMs }),
    });
    survey.photo = null;
    $('#photo').removeAttribute('src');
    await next();
  } catch (error) {
    await next(); // the photo to answer now, as the server sees it
    showError(error.message);
  } finally {
    survey.busy = false;
  }
}

function setButtons(enabled) {
  $('#yes').disabled = !enabled;
  $('#no').disabled = !enabled;
}

$('#yes').addEventListener('click', () => answer(true));
$('#no').addEventListener('click', () => answer(false));
document.addEventListener('keydown', (event) => {
  if (event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === 'y' || event.key === 'Y') answer(true);
  if (event.key === 'n' || event.key === 'N') answer(false);
});
next();
