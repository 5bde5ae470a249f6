// Every page of the app, found by its folder: src/pages/<name>/page.ts.
import type { PageDefinition } from './menu'

const found = import.meta.glob<PageDefinition>('./pages/*/page.ts', {
  eager: true,
  import: 'default',
})

export const PAGES: readonly PageDefinition[] = Object.values(found).sort(
  (a, b) => a.order - b.order,
)
