import { defineConfig } from "vite";

// `npm run dev` proxies the API to a gateway on :8000; the build goes to dist/, which the
// gateway serves at / (services/gateway/kwont_gateway/webapp.py).
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 600 },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/graphql": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
