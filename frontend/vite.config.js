// Built into dist/, served by the backend at / (no CDN at run time: every asset is local, paths relative).
// `npm run dev` serves the sources and forwards the API to a running backend (PS_BACKEND, default :8000).

/* The built page carries a Content-Security-Policy (defence in depth next to text-only rendering):
 * script, style and API from this origin only, nothing inline. Not in dev, where Vite injects styles. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'";
const csp = {
  name: 'prodsentinel-csp',
  apply: 'build',
  transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' }],
};

const backend = process.env.PS_BACKEND || 'http://127.0.0.1:8000';
export default {
  base: './',
  plugins: [csp],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: { proxy: { '/query': backend, '/health': backend } },
};
