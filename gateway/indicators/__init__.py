"""The alliance's indicators (医联体绩效考核): each a FHIR ``Measure`` this server defines and
evaluates into a ``MeasureReport`` over a period, stratified, and as CSV.  :mod:`.model` is
what an indicator is, :mod:`.measures` the indicators, :mod:`.reports` the answers."""
