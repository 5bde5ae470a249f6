"""The OHIF viewer at ``/viewer/``: fetched once at install (:mod:`gateway.viewer.fetch`),
served with our configuration (:mod:`gateway.viewer.site`, ``app-config.js``)."""
