import { Money } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'settlement',
  path: '/settlement',
  titleKey: 'settlement.title',
  icon: Money,
  roles: ['admin', 'head'],
  order: 70,
  component: () => import('./SettlementPage.vue'),
})
