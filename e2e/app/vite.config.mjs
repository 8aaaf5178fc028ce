// Vite (and electron-vite's main process): an SSR build for Node, memmap left external.
export default {
  build: {
    ssr: 'app.mjs',
    outDir: 'out-vite',
    rollupOptions: { external: ['memmap'] },
  },
};
