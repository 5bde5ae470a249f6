import { Switch } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'referrals',
  path: '/referrals',
  titleKey: 'referrals.title',
  icon: Switch,
  roles: ['clinician', 'head'],
  order: 35,
  component: () => import('./ReferralsPage.vue'),
})
