// The shipped FHIRconnect files (docs/architecture.md §Shipped mappings).
// Socle's own files: the LOINC-coded vital signs of the FHIR R4 vital signs
// profiles, conditions and laboratory reports with their results onto
// openFHIR's templates (ShippedTemplates.swift).

extension ShippedMappings {
    /// Each file by its path in the set, as `socle mappings export` writes it.
    public static let files: [(file: String, text: String)] = [
        ("blood_pressure.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile bp (LOINC 85354-9) is a composition of the template
# 'NEWS2 Encounter Parent' holding one OBSERVATION.blood_pressure.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.blood_pressure
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/bp"
  template:
    id: "NEWS2 Encounter Parent"
  archetypes:
    - "OBSERVATION.blood_pressure.v2"
  start: "OBSERVATION.blood_pressure.v2"
"""#),
        ("blood_pressure.model.yml", #"""
# Blood pressure panel (LOINC 85354-9) as OBSERVATION.blood_pressure.v2: each
# event is an Observation (its time the effective time) whose components are
# the systolic (LOINC 8480-6) and diastolic (LOINC 8462-4) pressures; status,
# category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.blood_pressure.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.blood_pressure.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0006]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "85354-9"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "85354-9"
          - path: "display"
            value: "Blood pressure panel with all children optional"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0001]/events[at0006]/time"

  - name: "systolic"
    with:
      fhir: "$resource.component"
      openehr: "$archetype/data[at0001]/events[at0006]/data[at0003]"
    fhirCondition:
      targetRoot: "$resource.component"
      targetAttribute: "code.coding.code"
      operator: "one of"
      criteria: "8480-6"
    followedBy:
      mappings:
        - name: "value"
          with:
            fhir: "value"
            openehr: "items[at0004]"
        - name: "code"
          unidirectional: "openEHR->fhir"
          with:
            fhir: "code.coding"
          manual:
            - name: "loinc"
              fhir:
                - path: "system"
                  value: "http://loinc.org"
                - path: "code"
                  value: "8480-6"
                - path: "display"
                  value: "Systolic blood pressure"

  - name: "diastolic"
    with:
      fhir: "$resource.component"
      openehr: "$archetype/data[at0001]/events[at0006]/data[at0003]"
    fhirCondition:
      targetRoot: "$resource.component"
      targetAttribute: "code.coding.code"
      operator: "one of"
      criteria: "8462-4"
    followedBy:
      mappings:
        - name: "value"
          with:
            fhir: "value"
            openehr: "items[at0005]"
        - name: "code"
          unidirectional: "openEHR->fhir"
          with:
            fhir: "code.coding"
          manual:
            - name: "loinc"
              fhir:
                - path: "system"
                  value: "http://loinc.org"
                - path: "code"
                  value: "8462-4"
                - path: "display"
                  value: "Diastolic blood pressure"
"""#),
        ("bmi.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile bmi (LOINC 39156-5) is a composition of the
# template 'Growth chart' holding one OBSERVATION.body_mass_index.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.bmi
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/bmi"
  template:
    id: "Growth chart"
  archetypes:
    - "OBSERVATION.body_mass_index.v2"
  start: "OBSERVATION.body_mass_index.v2"
"""#),
        ("bmi.model.yml", #"""
# Body mass index (BMI) [Ratio] (LOINC 39156-5) as OBSERVATION.body_mass_index.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.body_mass_index.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.body_mass_index.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0002]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "39156-5"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "39156-5"
          - path: "display"
            value: "Body mass index (BMI) [Ratio]"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0001]/events[at0002]/data[at0003]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0001]/events[at0002]/time"
"""#),
        ("body_height.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile bodyheight (LOINC 8302-2) is a composition of the
# template 'Growth chart' holding one OBSERVATION.height.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.body_height
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/bodyheight"
  template:
    id: "Growth chart"
  archetypes:
    - "OBSERVATION.height.v2"
  start: "OBSERVATION.height.v2"
"""#),
        ("body_height.model.yml", #"""
# Body height (LOINC 8302-2) as OBSERVATION.height.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.height.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.height.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0002]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "8302-2"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "8302-2"
          - path: "display"
            value: "Body height"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0001]/events[at0002]/data[at0003]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0001]/events[at0002]/time"
"""#),
        ("body_temperature.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile bodytemp (LOINC 8310-5) is a composition of the
# template 'NEWS2 Encounter Parent' holding one OBSERVATION.body_temperature.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.body_temperature
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/bodytemp"
  template:
    id: "NEWS2 Encounter Parent"
  archetypes:
    - "OBSERVATION.body_temperature.v2"
  start: "OBSERVATION.body_temperature.v2"
"""#),
        ("body_temperature.model.yml", #"""
# Body temperature (LOINC 8310-5) as OBSERVATION.body_temperature.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.body_temperature.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.body_temperature.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0002]/events[at0003]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "8310-5"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "8310-5"
          - path: "display"
            value: "Body temperature"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0002]/events[at0003]/data[at0001]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0002]/events[at0003]/time"
"""#),
        ("body_weight.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile bodyweight (LOINC 29463-7) is a composition of the
# template 'Growth chart' holding one OBSERVATION.body_weight.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.body_weight
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/bodyweight"
  template:
    id: "Growth chart"
  archetypes:
    - "OBSERVATION.body_weight.v2"
  start: "OBSERVATION.body_weight.v2"
"""#),
        ("body_weight.model.yml", #"""
# Body weight (LOINC 29463-7) as OBSERVATION.body_weight.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.body_weight.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.body_weight.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0002]/events[at0003]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "29463-7"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "29463-7"
          - path: "display"
            value: "Body weight"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0002]/events[at0003]/data[at0001]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0002]/events[at0003]/time"
"""#),
        ("condition.context.yml", #"""
# Socle's shipped mappings: a FHIR R4 Condition (a problem or a diagnosis,
# coded in any code system) is a composition of openFHIR's KDS_Diagnose
# template holding one EVALUATION.problem_diagnosis.v1.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.condition
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/Condition"
  template:
    id: "KDS_Diagnose"
  archetypes:
    - "EVALUATION.problem_diagnosis.v1"
  start: "EVALUATION.problem_diagnosis.v1"
"""#),
        ("condition.model.yml", #"""
# A Condition as EVALUATION.problem_diagnosis.v1: the code (with every
# coding: the first is the coded text, the others its term mappings), onset,
# resolution and note; the clinical status (R4 condition-clinical, coded as
# sent) and the verification status (the archetype's codes) in its
# CLUSTER.problem_qualifier.v2. Not one entered in error, nor a differential
# diagnosis (the archetype has no code for it): they stay FHIR resources.
# The mapping library's verification status codes name the ValueSet
# http://hl7.org/fhir/ValueSet/condition-ver-status as their system, and map
# 'differential' and 'provisional' both to 'Working'; here the system is the
# R4 code system, and each code has one archetype code both ways.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: EVALUATION.problem_diagnosis.v1
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-EVALUATION.problem_diagnosis.v1
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Condition

preprocessor:
  fhirCondition:
    targetRoot: "$resource.verificationStatus.coding"
    targetAttribute: "code"
    operator: "not of"
    criteria:
      - "entered-in-error"
      - "differential"

mappings:
  - name: "code"
    with:
      fhir: "$resource.code"
      openehr: "$archetype/data[at0001]/items[at0002]"

  - name: "clinicalStatus"
    with:
      fhir: "$resource.clinicalStatus"
      openehr: "$archetype/data[at0001]/items[openEHR-EHR-CLUSTER.problem_qualifier.v2]/items[at0003]"

  - name: "verificationStatus"
    with:
      fhir: "$resource.verificationStatus.coding"
      openehr: "$archetype/data[at0001]/items[openEHR-EHR-CLUSTER.problem_qualifier.v2]/items[at0004]"
    manual:
      - name: "unconfirmed"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "code"
          operator: "one of"
          criteria: "unconfirmed"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0016"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/condition-ver-status"
          - path: "code"
            value: "unconfirmed"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0016"
          - path: "value"
            value: "Preliminary"
      - name: "provisional"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "code"
          operator: "one of"
          criteria: "provisional"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0017"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/condition-ver-status"
          - path: "code"
            value: "provisional"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0017"
          - path: "value"
            value: "Working"
      - name: "confirmed"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "code"
          operator: "one of"
          criteria: "confirmed"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0018"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/condition-ver-status"
          - path: "code"
            value: "confirmed"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0018"
          - path: "value"
            value: "Established"
      - name: "refuted"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "code"
          operator: "one of"
          criteria: "refuted"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0088"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/condition-ver-status"
          - path: "code"
            value: "refuted"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0088"
          - path: "value"
            value: "Refuted"

  - name: "onset"
    with:
      fhir: "$resource.onset"
      openehr: "$archetype/data[at0001]/items[at0077]"

  - name: "abatement"
    with:
      fhir: "$resource.abatement"
      openehr: "$archetype/data[at0001]/items[at0030]"

  - name: "note"
    with:
      fhir: "$resource.note.text"
      openehr: "$archetype/data[at0001]/items[at0069]"
"""#),
        ("heart_rate.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile heartrate (LOINC 8867-4) is a composition of the
# template 'NEWS2 Encounter Parent' holding one OBSERVATION.pulse.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.heart_rate
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/heartrate"
  template:
    id: "NEWS2 Encounter Parent"
  archetypes:
    - "OBSERVATION.pulse.v2"
  start: "OBSERVATION.pulse.v2"
"""#),
        ("heart_rate.model.yml", #"""
# Heart rate (LOINC 8867-4) as OBSERVATION.pulse.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.pulse.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.pulse.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0002]/events[at0003]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "8867-4"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "8867-4"
          - path: "display"
            value: "Heart rate"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0002]/events[at0003]/data[at0001]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0002]/events[at0003]/time"
"""#),
        ("laboratory_analyte.model.yml", #"""
# A laboratory result Observation as CLUSTER.laboratory_test_analyte.v1 of
# its report: the analyte's name is the code, its result the value (a
# quantity, a coded or a plain text), its comment the note. The status is the
# result status (the archetype's codes); the category is the constant.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: CLUSTER.laboratory_test_analyte.v1
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-CLUSTER.laboratory_test_analyte.v1
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

mappings:
  - name: "status"
    with:
      fhir: "$resource"
      openehr: "$archetype/items[at0005]"
    manual:
      - name: "registered"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "registered"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0015"
        fhir:
          - path: "status"
            value: "registered"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0015"
          - path: "value"
            value: "Registered"
      - name: "partial"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "partial"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0016"
        fhir:
          - path: "status"
            value: "partial"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0016"
          - path: "value"
            value: "Partial"
      - name: "preliminary"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "preliminary"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0017"
        fhir:
          - path: "status"
            value: "preliminary"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0017"
          - path: "value"
            value: "Preliminary"
      - name: "final"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "final"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0018"
        fhir:
          - path: "status"
            value: "final"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0018"
          - path: "value"
            value: "Final"
      - name: "corrected"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "corrected"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0019"
        fhir:
          - path: "status"
            value: "corrected"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0019"
          - path: "value"
            value: "Corrected"
      - name: "amended"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "amended"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0020"
        fhir:
          - path: "status"
            value: "amended"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0020"
          - path: "value"
            value: "Amended"
      - name: "appended"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "appended"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0021"
        fhir:
          - path: "status"
            value: "appended"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0021"
          - path: "value"
            value: "Appended"
      - name: "entered-in-error"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "entered-in-error"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0022"
        fhir:
          - path: "status"
            value: "entered-in-error"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0022"
          - path: "value"
            value: "Entered in error"
      - name: "cancelled"
        fhirCondition:
          targetRoot: "$fhirRoot"
          targetAttribute: "status"
          operator: "one of"
          criteria: "cancelled"
        openehrCondition:
          targetRoot: "$openehrRoot"
          targetAttribute: "defining_code/code_string"
          operator: "one of"
          criteria: "at0023"
        fhir:
          - path: "status"
            value: "cancelled"
        openehr:
          - path: "defining_code/terminology_id"
            value: "local"
          - path: "defining_code/code_string"
            value: "at0023"
          - path: "value"
            value: "Cancelled"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "laboratory"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "laboratory"
          - path: "display"
            value: "Laboratory"

  - name: "code"
    with:
      fhir: "$resource.code"
      openehr: "$archetype/items[at0024]"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/items[at0001]"

  - name: "note"
    with:
      fhir: "$resource.note.text"
      openehr: "$archetype/items[at0003]"
"""#),
        ("laboratory_report.context.yml", #"""
# Socle's shipped mappings: a FHIR R4 DiagnosticReport of the laboratory
# (category LAB of v2-0074) is, with the Observations it names as results
# in the same request, one composition of openFHIR's KDS_Laborbericht
# template: one OBSERVATION.laboratory_test_result.v1, each result a
# CLUSTER.laboratory_test_analyte.v1 in it.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.laboratory_report
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/DiagnosticReport"
  template:
    id: "KDS_Laborbericht"
  archetypes:
    - "OBSERVATION.laboratory_test_result.v1"
    - "CLUSTER.laboratory_test_analyte.v1"
  start: "OBSERVATION.laboratory_test_result.v1"
"""#),
        ("laboratory_report.model.yml", #"""
# A laboratory DiagnosticReport as OBSERVATION.laboratory_test_result.v1:
# its code is the test name, its effective time the event's, its conclusion
# the conclusion; each result (an Observation of the same request) is an
# analyte cluster of the event. Status and category are written as the
# report's constants; the report as sent keeps the rest.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.laboratory_test_result.v1
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.laboratory_test_result.v1
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/DiagnosticReport

preprocessor:
  fhirCondition:
    targetRoot: "$resource.category.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "LAB"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "laboratory"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/v2-0074"
          - path: "code"
            value: "LAB"
          - path: "display"
            value: "Laboratory"

  - name: "event"
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0002]"
    followedBy:
      mappings:
      - name: "code"
        with:
          fhir: "code"
          openehr: "data[at0003]/items[at0005]"

      - name: "time"
        with:
          fhir: "effective"
          openehr: "time"

      - name: "conclusion"
        with:
          fhir: "conclusion"
          openehr: "data[at0003]/items[at0057]"

      - name: "result"
        with:
          fhir: "result"
          openehr: "data[at0003]/items[openEHR-EHR-CLUSTER.laboratory_test_analyte.v1]"
        followedBy:
          mappings:
            - name: "observation"
              with:
                fhir: "$fhirRoot"
                openehr: "$reference"
              reference:
                resourceType: "Observation"
                mappings:
                  - name: "analyte"
                    with:
                      fhir: "$fhirRoot"
                      openehr: "$openehrRoot"
                    slotArchetype: "CLUSTER.laboratory_test_analyte.v1"
"""#),
        ("oxygen_saturation.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile oxygensat (LOINC 2708-6 or 59408-5) is a composition of the
# template 'NEWS2 Encounter Parent' holding one OBSERVATION.pulse_oximetry.v1.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.oxygen_saturation
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/oxygensat"
  template:
    id: "NEWS2 Encounter Parent"
  archetypes:
    - "OBSERVATION.pulse_oximetry.v1"
  start: "OBSERVATION.pulse_oximetry.v1"
"""#),
        ("oxygen_saturation.model.yml", #"""
# Oxygen saturation in Arterial blood (LOINC 2708-6 or 59408-5) as OBSERVATION.pulse_oximetry.v1: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.pulse_oximetry.v1
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.pulse_oximetry.v1
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0002]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: ["2708-6", "59408-5"]

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "2708-6"
          - path: "display"
            value: "Oxygen saturation in Arterial blood"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0001]/events[at0002]/data[at0003]/items[at0006]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0001]/events[at0002]/time"
"""#),
        ("respiratory_rate.context.yml", #"""
# Socle's shipped vital signs mappings: a FHIR R4 Observation of the vital
# signs profile resprate (LOINC 9279-1) is a composition of the
# template 'NEWS2 Encounter Parent' holding one OBSERVATION.respiration.v2.
grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: socle.vital_signs.respiratory_rate
  version: 1.0.0
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: "http://hl7.org/fhir/StructureDefinition/resprate"
  template:
    id: "NEWS2 Encounter Parent"
  archetypes:
    - "OBSERVATION.respiration.v2"
  start: "OBSERVATION.respiration.v2"
"""#),
        ("respiratory_rate.model.yml", #"""
# Respiratory rate (LOINC 9279-1) as OBSERVATION.respiration.v2: each event of the
# observation is an Observation (its time the effective time, its value the
# value); status, category and code are the vital signs profile's constants.
grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: OBSERVATION.respiration.v2
  version: 1.0.0
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-OBSERVATION.respiration.v2
  fhirConfig:
    structureDefinition: http://hl7.org/fhir/StructureDefinition/Observation

preprocessor:
  hierarchy:
    with:
      fhir: "$resource"
      openehr: "$archetype/data[at0001]/events[at0002]"
    split:
      fhir:
        create: "resource"
  fhirCondition:
    targetRoot: "$resource.code.coding"
    targetAttribute: "code"
    operator: "one of"
    criteria: "9279-1"

mappings:
  - name: "status"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource"
    manual:
      - name: "final"
        fhir:
          - path: "status"
            value: "final"

  - name: "category"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.category.coding"
    manual:
      - name: "vitalSigns"
        fhir:
          - path: "system"
            value: "http://terminology.hl7.org/CodeSystem/observation-category"
          - path: "code"
            value: "vital-signs"
          - path: "display"
            value: "Vital Signs"

  - name: "code"
    unidirectional: "openEHR->fhir"
    with:
      fhir: "$resource.code.coding"
    manual:
      - name: "loinc"
        fhir:
          - path: "system"
            value: "http://loinc.org"
          - path: "code"
            value: "9279-1"
          - path: "display"
            value: "Respiratory rate"

  - name: "value"
    with:
      fhir: "$resource.value"
      openehr: "$archetype/data[at0001]/events[at0002]/data[at0003]/items[at0004]"

  - name: "time"
    with:
      fhir: "$resource.effective"
      openehr: "$archetype/data[at0001]/events[at0002]/time"
"""#),
    ]
}
