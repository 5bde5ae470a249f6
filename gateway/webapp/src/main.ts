// Start: finish or begin the login, then mount the app on the route the person was going to.
import './theme.css'

import { createApp } from 'vue'

import App from './App.vue'
import { startSession } from './auth/session'
import { currentLocale, i18n } from './i18n'
import { createAppRouter } from './router'
import SessionFailed from './SessionFailed.vue'
import { offerSessionToViewers } from './viewer/bridge'
import { reasonOf } from './reason'

async function main(): Promise<void> {
  document.documentElement.lang = currentLocale()
  let start: string | null
  try {
    start = await startSession()
  } catch (error) {
    const reason = reasonOf(error)
    createApp(SessionFailed, { reason }).use(i18n).mount('#app')
    return
  }
  if (start === null) return // on the way to the login page
  // The callback's URL (with its code) is replaced, not kept in the history.
  window.history.replaceState(null, '', `/app${start}`)
  offerSessionToViewers()
  createApp(App).use(i18n).use(createAppRouter()).mount('#app')
}

void main()
