// A page of the app is one folder under pages/ whose page.ts exports definePage({...}):
// its route, its menu entry and the roles whose menu shows it.  The menu only helps people
// find their work: what each page shows is decided by the server's policy, never here.
import type { Component } from 'vue'

export const ROLES = ['reader', 'senior_reader', 'clinician', 'head', 'admin'] as const
export type Role = (typeof ROLES)[number]

export interface PageDefinition {
  /** Route name, unique. */
  name: string
  /** Path under /app/, e.g. `/studies`. */
  path: string
  /** i18n key of the title (menu entry and heading). */
  titleKey: string
  icon: Component
  /** Whose menu lists the page. */
  roles: readonly Role[] | 'everyone'
  /** Position in the menu, smallest first. */
  order: number
  component: () => Promise<Component | { default: Component }>
  /** False for a page reached from another (e.g. one Task's report), not from the menu. */
  inMenu?: boolean
}

export function definePage(page: PageDefinition): PageDefinition {
  return page
}

export function canOpen(page: PageDefinition, roles: readonly string[]): boolean {
  return page.roles === 'everyone' || page.roles.some((role) => roles.includes(role))
}

/** The pages a person with these roles finds in the menu, in menu order. */
export function menuFor(
  roles: readonly string[],
  pages: readonly PageDefinition[],
): PageDefinition[] {
  return pages
    .filter((page) => page.inMenu !== false && canOpen(page, roles)).sort((a, b) => a.order - b.order)
}
