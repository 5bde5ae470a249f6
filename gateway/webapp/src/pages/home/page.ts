import { HomeFilled } from '@element-plus/icons-vue'

import { definePage } from '../../menu'

export default definePage({
  name: 'home',
  path: '/',
  titleKey: 'pages.home',
  icon: HomeFilled,
  roles: 'everyone',
  order: 0,
  component: () => import('./HomePage.vue'),
})
