import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by `herald serve` at /dashboard/ (packages/server/src/api/routes/dashboard.ts).
export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
});
