import { Tickets } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'orders',
  path: '/orders',
  titleKey: 'pages.orders',
  icon: Tickets,
  roles: ['clinician'],
  order: 25,
  component: () => import('./OrdersPage.vue'),
})
