// vue-i18n with zh-CN by default and English switchable; the choice is kept in localStorage
// (a preference, never a token) and set as the page's lang for screen readers.
import { createI18n } from 'vue-i18n'

import en from './en'
import { PAGE_MESSAGES } from './pageMessages'
import zhCN from './zh-CN'

export const LOCALES = ['zh-CN', 'en'] as const
export type Locale = (typeof LOCALES)[number]
export const LOCALE_KEY = 'yilian.locale'

/** The stored choice when it is one we speak, else zh-CN. */
export function initialLocale(stored: string | null): Locale {
  return (LOCALES as readonly string[]).includes(stored ?? '') ? (stored as Locale) : 'zh-CN'
}

export function otherLocale(locale: Locale): Locale {
  return locale === 'zh-CN' ? 'en' : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(globalThis.localStorage?.getItem(LOCALE_KEY) ?? null),
  fallbackLocale: 'zh-CN',
  messages: {
    'zh-CN': { ...zhCN, ...PAGE_MESSAGES['zh-CN'] },
    en: { ...en, ...PAGE_MESSAGES.en },
  },
})

export function currentLocale(): Locale {
  return i18n.global.locale.value as Locale
}

export function setLocale(locale: Locale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(LOCALE_KEY, locale)
  document.documentElement.lang = locale
}
