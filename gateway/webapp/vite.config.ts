/// <reference types="vitest/config" />
// Built into dist/ and served by the gateway at /app/ (gateway/webapp_site.py): hashed assets
// under assets/, each text file also written gzip-compressed beside it (name.gz).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import vue from '@vitejs/plugin-vue'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig, type Plugin } from 'vite'

const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/
const SMALLEST = 1024

function gzipBeside(outDir: string): Plugin {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
  return {
    name: 'yilian-gzip-beside',
    apply: 'build',
    closeBundle() {
      for (const path of walk(outDir)) {
        const content = readFileSync(path)
        if (COMPRESSIBLE.test(path) && content.length >= SMALLEST) {
          writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }))
        }
      }
    },
  }
}

export default defineConfig({
  base: '/app/',
  plugins: [
    vue(),
    // Element Plus components (and their styles) imported where a template uses them, so the
    // build carries only those: pages just write <el-table> and it is there.
    Components({ resolvers: [ElementPlusResolver()], dts: false }),
    gzipBeside('dist'),
  ],
  build: { outDir: 'dist', emptyOutDir: true },
  // `npm run dev` beside a running gateway: the API and the login page come from it.
  server: {
    proxy: {
      '/auth': 'http://127.0.0.1:8080',
      '/fhir': 'http://127.0.0.1:8080',
      '/dicomweb': 'http://127.0.0.1:8080',
    },
  },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
})
