// Built into dist/, served by the backend at / (no CDN at run time: every asset is local, paths relative).
export default {
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
};
