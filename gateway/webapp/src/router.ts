// Routes from the pages (src/pages/<name>/page.ts); a page not for the person's roles, or a
// path that is none, leads home.
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import { session } from './auth/session'
import { i18n } from './i18n'
import { canOpen } from './menu'
import { PAGES } from './pages'

export function createAppRouter() {
  const routes: RouteRecordRaw[] = [
    ...PAGES.map((page) => ({
      name: page.name,
      path: page.path,
      component: page.component,
      meta: { page },
    })),
    { path: '/:unknown(.*)*', redirect: '/' },
  ]
  const router = createRouter({ history: createWebHistory('/app/'), routes })
  router.beforeEach((to) => {
    const page = PAGES.find((candidate) => candidate.name === to.name)
    const roles = session.user?.roles.map((role) => role.code) ?? []
    if (page && !canOpen(page, roles)) return { path: '/' }
    return true
  })
  router.afterEach((to) => {
    const page = PAGES.find((candidate) => candidate.name === to.name)
    const title = page ? i18n.global.t(page.titleKey) : ''
    document.title = [title, i18n.global.t('app.name')].filter(Boolean).join(' · ')
  })
  return router
}
