import type zhCN from './zh-CN'

// English, switchable.  Typed by the zh-CN messages, so a missing key does not compile.
const en: typeof zhCN = {
  app: { name: 'Yilian', subtitle: 'Shared examination data' },
  topbar: {
    organization: 'Organization',
    roles: 'Roles',
    language: 'Switch language',
    otherLanguage: '中文',
    logout: 'Log out',
    loggingOut: 'Logging out…',
  },
  menu: { label: 'Main menu' },
  roles: {
    reader: 'Reader',
    senior_reader: 'Senior reader',
    clinician: 'Clinician',
    head: 'Head',
    admin: 'Administrator',
  },
  pages: {
    home: 'Home',
    worklist: 'Reading worklist',
    verify: 'Report sign-off',
    studies: 'Studies',
    critical: 'Critical values',
    lab: 'Lab results',
    admin: 'Administration',
  },
  home: {
    welcome: 'Welcome, {name}',
    who: 'Signed in as',
    name: 'Name',
    username: 'User name',
    licence: 'Practitioner licence',
    organization: 'Organization',
    organizationKind: 'Kind of organization',
    uscc: 'Unified social credit code',
    roles: 'Roles',
    centres: 'Diagnostic centres',
    loggedInAt: 'Signed in at',
    tokenValidUntil: 'Token valid until',
    source: 'From the alliance directory (FHIR Practitioner / PractitionerRole).',
    none: 'None',
    loadFailed: 'Could not read the directory: {reason}',
  },
  placeholder: {
    description: 'This part is being built and comes in a later version.',
  },
  session: {
    signingIn: 'Signing in…',
    failed: 'Sign-in failed: {reason}',
    retry: 'Sign in again',
  },
}

export default en
