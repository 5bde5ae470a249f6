"""ECG recordings as FHIR: DICOM waveform objects (:mod:`.dicom_waveform`) and HL7 aECG
documents (:mod:`.aecg`) read into one :class:`~gateway.ecg.recording.Recording`, made the
``Observation`` of :mod:`.observation` with the codes of :mod:`.codes`; :mod:`.publish` keeps one
per ECG object of a stable study."""
