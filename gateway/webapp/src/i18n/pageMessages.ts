// A page's own messages live in its folder: src/pages/<name>/messages.ts exports
// definePageMessages({ 'zh-CN': {...}, en: {...} }) and they are found under the key <name>
// (e.g. `admin.title`), so adding a page never edits the shared locale files.
export type Messages = { [key: string]: string | Messages }

export interface PageMessages {
  'zh-CN': Messages
  en: Messages
}

export function definePageMessages(messages: PageMessages): PageMessages {
  return messages
}

/** Folder name of a glob key such as `../pages/admin/messages.ts`. */
export function pageKey(path: string): string {
  const match = /\/pages\/([^/]+)\/messages\.ts$/.exec(path)
  if (!match) throw new Error(`not a page's messages file: ${path}`)
  return match[1]
}

/** Every page's messages under its folder's name, per locale. */
export function byLocale(found: Record<string, PageMessages>): PageMessages {
  const merged: PageMessages = { 'zh-CN': {}, en: {} }
  for (const [path, messages] of Object.entries(found)) {
    const key = pageKey(path)
    merged['zh-CN'][key] = messages['zh-CN']
    merged.en[key] = messages.en
  }
  return merged
}

export const PAGE_MESSAGES: PageMessages = byLocale(
  import.meta.glob<PageMessages>('../pages/*/messages.ts', { eager: true, import: 'default' }),
)
