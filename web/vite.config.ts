import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The console is built into the gateway's static files; in development, Vite forwards the API
// and the live hub to a gateway on ALTO_GATEWAY (http://127.0.0.1:8080 by default).
const gateway = process.env.ALTO_GATEWAY ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../gateway-api/Alto.Gateway/wwwroot",
    emptyOutDir: true,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "/api": gateway,
      "/hubs": { target: gateway, ws: true },
    },
  },
  test: {
    environment: "node",
  },
});
