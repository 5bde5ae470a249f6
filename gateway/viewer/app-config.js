// Yilian's configuration of the OHIF viewer (@ohif/app 3.13.2) served at /viewer/.
//
// Its data source is Yilian's own DICOMweb (/dicomweb: QIDO-RS, WADO-RS, rendered thumbnails).
// Every request carries the bearer token of the person logged in to the web app (/app/): the
// viewer is opened by the app (a new window, window.opener) or embedded in it (an iframe,
// window.parent), always from the same origin, and asks that window for its current token at
// each request — so a refreshed token is used at once, and no token is ever put in a URL or in
// storage.  The token reaches OHIF's DICOMweb client, its image loader and the microscopy mode's
// own client (dicom-microscopy-viewer's tiles) through
// userAuthenticationService.getAuthorizationHeader, set by the extension below.
//
// The server decides what may be seen: a study of an organization the person may not see is
// not found by QIDO-RS (and its metadata and frames are refused).  The viewer then says so in
// words, as it does when it was not opened from the app.
(function () {
  'use strict';

  var DICOMWEB = window.location.origin + '/dicomweb';
  var MESSAGES = {
    noSession: [
      '请先登录医联，再从"影像检查"或报告页面打开影像。',
      'Log in to Yilian and open the images from its study browser or a reading page.',
    ],
    notVisible: [
      '未找到该检查，或您所在机构无权查看该检查的影像。',
      'This study was not found, or your organization may not see its images.',
    ],
    failed: ['暂时无法读取该检查，请稍后重试。', 'The study cannot be read just now; try again later.'],
  };

  /** The web app's accessor of its in-memory session (src/viewer/bridge.ts), if this window
   * was opened or is framed by the app. */
  function appSession() {
    var candidates = [window.parent !== window ? window.parent : null, window.opener];
    for (var i = 0; i < candidates.length; i += 1) {
      try {
        var found = candidates[i] && candidates[i].yilianViewerSession;
        if (found && typeof found.accessToken === 'function') return found;
      } catch (error) {
        // another origin: not the app
      }
    }
    return null;
  }

  /** The header of the person's login.  Its value is read at each use: OHIF's microscopy mode
   * builds its DICOMweb client once per slide and keeps the headers object it was given, so a
   * plain value would send the first token for every later tile, past its expiry. */
  function authorizationHeader() {
    var session = appSession();
    if (!session || !session.accessToken()) return undefined;
    var header = {};
    Object.defineProperty(header, 'Authorization', {
      enumerable: true,
      get: function () {
        return 'Bearer ' + (session.accessToken() || '');
      },
    });
    return header;
  }

  function showMessage(kind) {
    var show = function () {
      if (document.getElementById('yilian-viewer-message')) return;
      var box = document.createElement('div');
      box.id = 'yilian-viewer-message';
      box.setAttribute('role', 'alert');
      box.setAttribute('data-kind', kind);
      box.style.cssText =
        'position:fixed;inset:0;z-index:100000;display:flex;flex-direction:column;' +
        'align-items:center;justify-content:center;gap:12px;background:#0b1021;color:#fff;' +
        'font:16px/1.6 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;padding:24px;' +
        'text-align:center';
      MESSAGES[kind].forEach(function (line, index) {
        var p = document.createElement('p');
        p.textContent = line;
        p.style.margin = '0';
        if (index > 0) p.style.color = '#c9cdd4';
        box.appendChild(p);
      });
      document.body.appendChild(box);
    };
    if (document.body) show();
    else document.addEventListener('DOMContentLoaded', show);
  }

  /** Before OHIF shows anything: is there a login, and may it see the studies asked for? */
  function checkAccess() {
    var session = appSession();
    if (!session || !session.accessToken()) {
      showMessage('noSession');
      return;
    }
    var studies = new URLSearchParams(window.location.search).get('StudyInstanceUIDs');
    if (!studies) return;
    var query = new URLSearchParams({ StudyInstanceUID: studies, includefield: 'StudyInstanceUID' });
    fetch(DICOMWEB + '/studies?' + query.toString(), {
      headers: Object.assign({ Accept: 'application/dicom+json' }, authorizationHeader()),
    })
      .then(function (answer) {
        if (answer.status === 204) return [];
        if (answer.status === 401) throw new Error('noSession');
        if (!answer.ok) throw new Error('failed');
        return answer.json();
      })
      .then(function (found) {
        if (!found.length) showMessage('notVisible');
      })
      .catch(function (error) {
        showMessage(error.message === 'noSession' ? 'noSession' : 'failed');
      });
  }

  /** OHIF's English onboarding tour would cover the image the person came to see. */
  function skipTour() {
    try {
      var shown = JSON.parse(window.localStorage.getItem('shownTours') || '[]');
      if (shown.indexOf('basicViewerTour') < 0) {
        window.localStorage.setItem('shownTours', JSON.stringify(shown.concat('basicViewerTour')));
      }
    } catch (error) {
      // storage unavailable: the tour shows
    }
  }

  /** OHIF speaks the language chosen in the app (its preference, 'yilian.locale'). */
  function followAppLanguage() {
    try {
      var chosen = window.localStorage.getItem('yilian.locale') || 'zh-CN';
      window.localStorage.setItem('i18nextLng', chosen === 'en' ? 'en-US' : 'zh');
    } catch (error) {
      // storage unavailable: OHIF follows the browser's language
    }
  }

  var yilianAuthentication = {
    id: 'yilian-authentication',
    preRegistration: function (context) {
      context.servicesManager.services.userAuthenticationService.setServiceImplementation({
        getAuthorizationHeader: authorizationHeader,
      });
    },
  };

  window.config = {
    name: 'yilian',
    routerBasename: '/viewer',
    extensions: [yilianAuthentication],
    modes: [],
    customizationService: {},
    showStudyList: true,
    maxNumberOfWebWorkers: 2,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: false,
    showLoadingIndicator: true,
    investigationalUseDialog: { option: 'never' },
    strictZSpacingForVolumeViewport: true,
    groupEnabledModesFirst: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 10 },
    showErrorDetails: 'dev',
    defaultDataSourceName: 'yilian',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'yilian',
        configuration: {
          friendlyName: '医联 DICOMweb',
          name: 'yilian',
          wadoUriRoot: DICOMWEB,
          qidoRoot: DICOMWEB,
          wadoRoot: DICOMWEB,
          qidoSupportsIncludeField: true,
          imageRendering: 'wadors',
          thumbnailRendering: 'thumbnail',
          thumbnailRequestStrategy: 'fetch',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          bulkDataURI: { enabled: true },
          omitQuotationForMultipartRequest: true,
        },
      },
    ],
  };

  skipTour();
  followAppLanguage();
  checkAccess();
})();
