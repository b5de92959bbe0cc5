import { useRef, useState } from '../vendor/preact/hooks.js';
import { html } from '../lib/html.js';
import { HttpError, NetworkError } from '../lib/api.js';
import { useApp } from '../lib/app_context.js';

export function Login() {
  const app = useApp();
  const { state, actions } = app;
  const t = state.t;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  // the user name is kept across a failed attempt (a controlled field); the password is cleared and focused
  const [username, setUsername] = useState(state.session.value?.user?.username || '');
  const passwordRef = useRef(null);
  const expired = state.authExpired.value;
  const queued = state.pendingCount.value;

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await actions.login(String(form.get('username') || '').trim(), String(form.get('password') || ''));
    } catch (err) {
      if (passwordRef.current) {
        passwordRef.current.value = '';
        passwordRef.current.focus();
      }
      if (err.message === 'other-user-queue') setError(t('otherUserQueue', err.params));
      else if (err instanceof HttpError && (err.status === 401 || err.status === 400 || err.status === 422)) setError(t('loginFailed'));
      else if (err instanceof HttpError && err.status === 429) setError(app.state.sayError(err));
      else if (err instanceof NetworkError) setError(t('loginOfflineFirst'));
      else setError(state.sayError(err));
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="login" aria-labelledby="login-title">
    <form class="card login-card" onSubmit=${submit}>
      <h1 id="login-title">${t('appName')}</h1>
      <p class="muted">${t('appSub')}</p>
      ${expired && html`<p class="banner warn" role="alert" data-testid="login-expired">${t('loginExpired', { n: queued })}</p>`}
      <label class="field"><span>${t('username')}</span>
        <input name="username" autocomplete="username" required autocapitalize="off" spellcheck="false"
          value=${username} onInput=${(e) => setUsername(e.currentTarget.value)} /></label>
      <label class="field"><span>${t('password')}</span>
        <input name="password" type="password" autocomplete="current-password" required ref=${passwordRef} /></label>
      ${error && html`<p class="banner error" role="alert" data-testid="login-error">${error}</p>`}
      <button type="submit" class="btn primary wide" data-testid="login-submit" disabled=${busy}>
        ${busy ? t('loggingIn') : t('login')}</button>
      <button type="button" class="btn link" data-testid="lang-toggle"
        onClick=${() => actions.setLang(state.lang.value === 'zh' ? 'en' : 'zh')}>${t('langToggle')}</button>
    </form>
  </main>`;
}
