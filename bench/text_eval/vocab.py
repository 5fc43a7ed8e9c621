"""Vocabulary for the deidflow free-text evaluation set (hand-written, public knowledge only)."""

# ---------------------------------------------------------------- clinical terms that must survive
CT = {
    "drug": [
        "metoprolol", "Metoprolol tartrate", "lisinopril", "atorvastatin", "Lipitor", "warfarin", "Coumadin",
        "apixaban", "Eliquis", "rivaroxaban", "Xarelto", "heparin", "enoxaparin", "Lovenox", "furosemide",
        "Lasix", "spironolactone", "amiodarone", "digoxin", "metformin", "Glucophage", "insulin glargine",
        "Lantus", "insulin lispro", "Humalog", "levothyroxine", "Synthroid", "prednisone", "methylprednisolone",
        "Solu-Medrol", "dexamethasone", "vancomycin", "piperacillin-tazobactam", "Zosyn", "ceftriaxone",
        "Rocephin", "azithromycin", "Zithromax", "ciprofloxacin", "levofloxacin", "metronidazole", "Flagyl",
        "acetaminophen", "Tylenol", "ibuprofen", "Motrin", "naproxen", "oxycodone", "hydromorphone",
        "Dilaudid", "morphine", "fentanyl", "ondansetron", "Zofran", "pantoprazole", "Protonix", "omeprazole",
        "sertraline", "Zoloft", "escitalopram", "quetiapine", "Seroquel", "haloperidol", "lorazepam", "Ativan",
        "levetiracetam", "Keppra", "gabapentin", "Neurontin", "carbidopa-levodopa", "Sinemet", "donepezil",
        "Aricept", "albuterol", "ipratropium", "tiotropium", "Spiriva", "norepinephrine", "Levophed",
        "vasopressin", "propofol", "midazolam", "clopidogrel", "Plavix", "aspirin", "nitroglycerin",
        "amlodipine", "Norvasc", "hydrochlorothiazide", "tamsulosin", "Flomax", "allopurinol", "colchicine",
        "methotrexate", "infliximab", "Remicade", "adalimumab", "Humira", "rituximab", "pembrolizumab",
        "Keytruda", "tacrolimus", "mycophenolate", "gadobutrol", "Gadavist", "iohexol", "Omnipaque",
        "iodinated contrast", "potassium chloride", "magnesium sulfate", "sodium bicarbonate", "Narcan",
        "naloxone", "alteplase", "tPA", "Kayexalate", "nystatin", "Bactrim", "doxycycline", "semaglutide",
        "Ozempic", "empagliflozin", "Jardiance", "sacubitril-valsartan", "Entresto", "Dobutamine", "dopamine",
    ],
    "anatomy": [
        "left lower lobe", "right upper lobe", "right middle lobe", "lingula", "mediastinum", "pericardium",
        "left ventricle", "aortic root", "ascending aorta", "common bile duct", "gallbladder", "pancreatic head",
        "spleen", "left kidney", "right adrenal gland", "urinary bladder", "prostate", "uterus", "left ovary",
        "thyroid", "parotid gland", "cerebellum", "basal ganglia", "corpus callosum", "frontal lobe",
        "temporal horn", "lateral ventricles", "pituitary", "internal carotid artery", "vertebral artery",
        "circle of Willis", "medial meniscus", "anterior cruciate ligament", "ACL", "rotator cuff",
        "supraspinatus tendon", "femoral neck", "tibial plateau", "distal radius", "scaphoid", "Achilles tendon",
        "patella", "acetabulum", "sacroiliac joint", "spinal canal", "neural foramen", "conus medullaris",
        "thecal sac", "pleural space", "hilum", "carina", "trachea", "esophagus", "gastric antrum", "duodenum",
        "terminal ileum", "sigmoid colon", "appendix", "liver segment 7", "portal vein", "hepatic veins",
        "inferior vena cava", "abdominal aorta", "iliac arteries", "popliteal artery", "Sylvian fissure",
        "Meckel cave", "Eustachian tube", "fallopian tube", "Wharton duct",
    ],
    "eponym": [
        "Parkinson disease", "Parkinson's disease", "Babinski sign", "Hodgkin lymphoma", "non-Hodgkin lymphoma",
        "Crohn disease", "Crohn's disease", "Graves disease", "Graves' disease", "Alzheimer disease",
        "Alzheimer's dementia", "Down syndrome", "Cushing syndrome", "Cushing's disease", "Addison disease",
        "Bell palsy", "Bell's palsy", "Wilson disease", "Baker cyst", "Baker's cyst", "Hashimoto thyroiditis",
        "Guillain-Barre syndrome", "Huntington disease", "Kaposi sarcoma", "Barrett esophagus", "Raynaud phenomenon",
        "Sjogren syndrome", "Marfan syndrome", "Ewing sarcoma", "Wilms tumor", "Paget disease", "Bankart lesion",
        "Hill-Sachs lesion", "Colles fracture", "Monteggia fracture", "Lisfranc injury", "Osgood-Schlatter disease",
        "Kerley B lines", "Murphy sign", "McBurney point", "Homans sign", "Chvostek sign", "Trousseau sign",
        "Virchow node", "Horner syndrome", "Meniere disease", "Tourette syndrome", "Lyme disease",
        "Whipple procedure", "Nissen fundoplication", "Roux-en-Y gastric bypass", "Hartmann procedure",
        "Glasgow Coma Scale", "Gleason score 3+4", "Child-Pugh class B", "Fontan circulation",
        "tetralogy of Fallot", "Wolff-Parkinson-White syndrome", "Brugada pattern", "Stevens-Johnson syndrome",
        "Reye syndrome", "Dandy-Walker malformation", "Chiari I malformation", "Arnold-Chiari malformation",
        "Schatzki ring", "Zenker diverticulum", "Mallory-Weiss tear", "Budd-Chiari syndrome",
        "von Willebrand disease", "Hirschsprung disease", "Legg-Calve-Perthes disease", "Klebsiella pneumoniae",
        "Pseudomonas aeruginosa", "Escherichia coli", "Listeria", "Salmonella",
    ],
    "hardneg": [
        "Foley catheter", "Foley", "Whipple procedure", "Doppler", "Holter monitor", "Swan-Ganz catheter",
        "Bell", "Graves", "Parkinson", "Parkinsonism", "Apgar", "Gram stain", "Bovie", "Jackson-Pratt drain",
        "JP drain", "Hickman line", "Port-a-Cath", "PICC line", "Pleur-evac", "Ambu bag", "Hoyer lift",
        "Trendelenburg position", "Fowler position", "Valsalva maneuver", "Heimlich maneuver", "Allen test",
        "Lachman test", "McMurray test", "Romberg sign", "Kernig sign", "Brudzinski sign", "Tinel sign",
        "Phalen test", "Finkelstein test", "Weber test", "Rinne test", "Snellen chart", "Glasgow",
        "Wells score", "Ranson criteria", "Mallampati class II", "Pfannenstiel incision", "Kocher incision",
        "Steri-Strips", "Ace wrap", "Miami J collar", "Philadelphia collar", "Thomas splint", "Seldinger technique",
        "Pap smear", "Coombs test", "Westergren ESR", "Wood lamp", "Sengstaken-Blakemore tube", "Dobhoff tube",
        "Salem sump", "Malecot drain", "Penrose drain", "Blake drain", "Hemovac", "Mayfield head holder",
        "Hounsfield units", "Fleischner criteria", "Bosniak IIF", "Kellgren-Lawrence grade 3", "Outerbridge grade 2",
        "Chance fracture", "Jefferson fracture", "Smith fracture", "Bennett fracture", "Boxer fracture",
        "Ludwig angina", "Fournier gangrene", "Austin Flint murmur", "Cheyne-Stokes respirations",
        "Kussmaul breathing", "Battle sign", "Cullen sign", "Grey Turner sign", "Tanner stage 4",
    ],
    "mri": [
        "1.5T", "3T", "3.0 T", "1.5 Tesla", "T1", "T2", "T1 post", "T2 FLAIR", "FLAIR", "DWI", "ADC", "SWI",
        "GRE", "STIR", "PD FS", "T1 FS post", "MPRAGE", "TOF MRA", "DTI", "perfusion", "ASL", "MRCP",
        "T2 HASTE", "VIBE", "SPACE", "b=1000", "fat-suppressed", "in-phase and opposed-phase",
    ],
    "level": [
        "L4-L5", "L5-S1", "L3-L4", "C5-C6", "C6-C7", "C4-C5", "T12", "L1", "T11-T12", "C2", "C1-C2", "S1",
        "T4", "T7-T8", "L2", "L4", "C7", "L3",
    ],
    "score": [
        "BI-RADS 4", "BI-RADS 2", "BI-RADS 0", "BI-RADS 5", "PI-RADS 3", "PI-RADS 4", "LI-RADS 4", "TI-RADS 3",
        "Lung-RADS 2", "GCS 15", "GCS 8", "APGAR 8/9", "APGAR", "NIHSS 4", "ASA III", "NYHA class III",
        "ECOG 1", "CHA2DS2-VASc 3", "HAS-BLED 2", "MELD 18", "Wells score 4", "CURB-65 2", "Braden 14",
        "Morse fall score 45", "RASS -2", "CAM-ICU negative", "Mini-Cog 3", "MoCA 22/30", "PHQ-9 14", "qSOFA 2",
    ],
    "dose": [
        "5 mg", "40 mg", "0.5 mg", "2 mcg/kg/min", "5 mcg/kg/min", "0.1 mcg/kg/min", "12.5 mg", "1 g",
        "500 mg", "10 units", "4 units/hr", "1000 mL", "125 mL/hr", "CTDIvol 12.4 mGy", "DLP 532 mGy*cm",
        "DLP 845 mGy-cm", "8 mGy", "100 mL", "2 L NC", "FiO2 40%", "PEEP 5", "20 mEq", "0.9% NaCl", "75 mcg",
        "25 mcg/hr", "10 mL/kg", "1.2 mSv", "150 mg/m2",
    ],
    "proc": [
        "Knee X-ray", "Mental health care plan", "Blood", "Serum", "CT chest with contrast",
        "CT abdomen and pelvis with contrast", "CT head without contrast", "MRI brain with and without contrast",
        "MRI lumbar spine", "chest radiograph", "Chest X-ray", "PA and lateral", "portable AP", "ultrasound",
        "renal ultrasound", "transthoracic echocardiogram", "TEE", "cardiac catheterization", "PET/CT",
        "bone scan", "DEXA", "screening mammogram", "diagnostic mammogram", "tomosynthesis", "colonoscopy",
        "EGD", "bronchoscopy", "thoracentesis", "paracentesis", "lumbar puncture", "CTA chest",
        "CT pulmonary angiogram", "MRA neck", "VQ scan", "HIDA scan", "barium swallow", "EEG", "EMG",
        "laparoscopic cholecystectomy", "total knee arthroplasty", "ORIF", "CABG", "PCI", "ablation",
        "hemodialysis", "physical therapy", "occupational therapy", "Urine", "Plasma", "CSF", "Whole blood",
    ],
    "lab": [
        "CBC", "BMP", "CMP", "hemoglobin", "hematocrit", "WBC", "platelets", "sodium", "potassium", "creatinine",
        "BUN", "eGFR", "troponin I", "high-sensitivity troponin", "BNP", "NT-proBNP", "lactate", "procalcitonin",
        "CRP", "ESR", "INR", "PTT", "D-dimer", "HbA1c", "TSH", "free T4", "ALT", "AST", "alkaline phosphatase",
        "total bilirubin", "lipase", "albumin", "ferritin", "vitamin B12", "ABG", "pH 7.32", "pCO2",
        "blood culture", "urinalysis", "urine culture", "PSA", "CA-125", "CEA", "AFP", "HIV-1/2 Ag/Ab",
        "hepatitis C antibody", "COVID-19 PCR", "influenza A/B PCR", "lipid panel", "LDL", "magnesium",
    ],
}

# ---------------------------------------------------------------- name material
PARTICLE_SURNAMES = [
    "van der Berg", "van den Heuvel", "de la Cruz", "De la Fuente", "van Dijk", "von Trapp", "de Vries",
    "Van Buren", "da Silva", "dos Santos", "del Rosario", "di Stefano", "DiMaggio", "de Souza", "Le Roux",
    "la Rosa", "ter Horst", "van 't Hof", "bin Laden", "Al-Hashimi", "el-Amin", "Ó Súilleabháin",
    "Mac an tSaoi", "St. Clair", "Saint-Pierre", "D'Angelo", "O'Connor", "O'Brien", "McAllister",
    "MacDonald", "Fitzgerald-Kühn", "ten Brink",
]
HYPHENATED = [
    "Smith-Jones", "García-Márquez", "Lloyd-Webber", "Ortega-Ruiz", "Kowalski-Nowak", "Hart-Davis",
    "Nguyen-Tran", "Bauer-Schmidt", "Lefèvre-Duval", "Jean-Baptiste", "Moreno-Vega", "Okafor-Eze",
    "Ben-David", "Taylor-Reed", "Pérez-Galdós",
]
ACCENTED = [
    ("José", "Núñez"), ("Zoë", "Müller"), ("François", "Lefèvre"), ("Søren", "Ødegaard"), ("Björn", "Ångström"),
    ("Chloé", "Bérubé"), ("Łukasz", "Wójcik"), ("Inés", "Gutiérrez"), ("Jürgen", "Großmann"),
    ("Ana", "Conceição"), ("Çağla", "Yılmaz"), ("Niamh", "Ní Bhriain"), ("Dóra", "Szűcs"), ("Renée", "Côté"),
    ("Tomáš", "Dvořák"), ("Ágnes", "Kovács"), ("Hélène", "Bézier"), ("Andrés", "Peña"), ("Mårten", "Nyström"),
    ("Émile", "Gaudreault"), ("Iñaki", "Etxeberria"), ("Nuño", "Valdés"), ("Małgorzata", "Zając"),
]
WORLD_NAMES = [
    ("Nguyen", "Van Thanh"), ("Oluwaseun", "Adeyemi"), ("Priya", "Raghunathan"), ("Mohammed", "Al-Rashid"),
    ("Xu", "Li"), ("Wei", "Zhang"), ("Hiroshi", "Tanaka"), ("Min-jun", "Park"), ("Aarav", "Venkataraman"),
    ("Chidi", "Okonkwo"), ("Fatima", "Haddad"), ("Thabo", "Mokoena"), ("Anh", "Pham"), ("Siddharth", "Iyer"),
    ("Yusuf", "Demir"), ("Kwame", "Mensah"), ("Ngozi", "Eze"), ("Ravi", "Subramanian"), ("Mei", "Chen"),
    ("Tenzin", "Dorje"), ("Aroha", "Ngata"), ("Kalani", "Kahananui"), ("Dmitri", "Volkov"), ("Olga", "Sokolova"),
]
# surnames that are also words / eponyms, used as real person names in some snippets (hard positives)
WORDLIKE_SURNAMES = [
    "Bell", "Graves", "Parkinson", "Brown", "White", "Young", "Rose", "Hope", "Price", "Hunter", "Fox",
    "Lamb", "Baker", "Cook", "Wolf", "Stone", "Rich", "Love", "Cash", "King", "Frost", "Wells", "Banks",
]
LONE_SURNAMES = [
    "Kirkpatrick", "Delacroix", "Abernathy", "Okonkwo", "Vasquez", "Yamamoto", "Lindqvist", "Szymanski",
    "Pemberton", "Castellanos", "Haverford", "Mbeki", "Oyelaran", "Thistlewood", "Rasmussen", "Gallagher",
    "Fairweather", "Brennan", "Quiñones", "Moskowitz", "Achterberg", "Delgado", "Featherstone", "Nakamura",
]

# ---------------------------------------------------------------- places / orgs
HOSPITALS = [
    "Massachusetts General Hospital", "St. Mary's Hospital", "Riverside Medical Center", "Mercy Hospital",
    "Lakeview Regional Medical Center", "Beth Israel Deaconess", "Cedar Valley Community Hospital",
    "Good Samaritan Hospital", "Brigham and Women's", "Northwestern Memorial", "St. Luke's Medical Center",
    "Kaiser Permanente Oakland", "Mayo Clinic", "Cleveland Clinic", "Johns Hopkins Hospital",
    "Saint Vincent Hospital", "Children's Hospital of Philadelphia", "Baystate Medical Center",
    "Hôpital Sainte-Justine", "Universitätsklinikum Heidelberg", "Mount Sinai West", "Tufts Medical Center",
    "Calvert Hospital", "Kernan Hospital", "Pinecrest Rehabilitation Center", "Hillside Psychiatric Institute",
    "Sunrise Senior Living", "Maple Grove Nursing Home", "Harborview Medical Center", "Providence St. Peter",
]
CLINICS = [
    "Westside Family Practice", "Greenfield Orthopedics", "Oak Street Dialysis", "Downtown Urgent Care",
    "Bayview Imaging Associates", "North Shore Cardiology Group", "Main Line Pediatrics",
    "Summit Radiology Partners", "Clearwater Oncology Clinic", "Elm Park Women's Health",
    "Pacific Sleep Lab", "Valley Endoscopy Center", "Riverbend Physical Therapy", "CVS MinuteClinic Route 9",
]
EMPLOYERS = [
    "Acme Corporation", "General Dynamics", "Boston Public Schools", "Amazon warehouse in Fall River",
    "Walmart", "the U.S. Postal Service", "Raytheon", "Dunkin'", "Fidelity Investments", "Stop & Shop",
    "MBTA", "Hanover Insurance", "Liberty Mutual", "the fire department", "Sysco", "Home Depot",
]
COUNTIES = [
    "Middlesex County", "Worcester County", "Cook County", "Suffolk County", "Hampden County", "Orange County",
    "King County", "Maricopa County", "Essex County", "Berkshire County", "Travis County", "Kings County",
    "Los Angeles County", "Plymouth County", "Barnstable County", "Bristol County",
]
LOCATIONS_OTHER = [
    "Dorchester", "Jamaica Plain", "Back Bay", "the Bronx", "Roxbury", "East Boston", "Harlem",
    "Lake Quinsigamond", "Walden Pond", "Logan Airport", "Fenway Park", "Cape Cod", "Martha's Vineyard",
    "Nantucket", "the Berkshires", "South End", "Chinatown", "Mission District", "Allston",
]
CITIES = [
    "Boston", "Springfield", "Worcester", "Lowell", "Cambridge", "Quincy", "Brockton", "New Bedford",
    "Fall River", "Catonsville", "Baltimore", "Chicago", "Houston", "Phoenix", "Seattle", "Denver",
    "Portland", "Albany", "Providence", "Hartford", "Burlington", "Manchester", "Nashua", "Bangor",
    "Framingham", "Newton", "Brookline", "Somerville", "Medford", "Malden", "Salem", "Lynn", "Pittsfield",
    "Montréal", "Québec", "São Paulo", "Zürich", "Düsseldorf", "Köln", "Kraków", "Málaga",
]
STATES = ["MA", "NY", "CT", "RI", "NH", "VT", "ME", "IL", "TX", "CA", "WA", "MD", "PA", "OH", "FL", "GA"]

# ---------------------------------------------------------------- label spellings (not identifiers themselves)
LABELS = {
    "MRN": ["MRN", "MRN:", "MR#", "MR #", "Med Rec No", "Med Rec #", "Medical Record Number", "Medical Record #",
            "Hospital No.", "Hosp#", "Unit No.", "Chart #", "Chart No", "Patient ID", "PID", "MRN#", "mrn",
            "Record number", "EMR ID", "Clinic no."],
    "ACCT": ["Acct", "Acct#", "Acct No.", "Account #", "Account Number", "FIN", "FIN#", "Billing acct",
             "Guarantor acct", "HAR", "Account", "acct no"],
    "HPN": ["Member ID", "Member #", "Subscriber ID", "Policy #", "Policy No.", "Policy number", "Group #",
            "Group No", "Medicaid ID", "Insurance ID", "Plan ID", "BCBS ID", "Ins. member no.", "Cigna ID",
            "Aetna member"],
    "MBI": ["Medicare MBI", "MBI", "Medicare #", "Medicare Beneficiary Identifier", "Medicare ID", "MBI:"],
    "ACC": ["Accession", "Accession #", "Acc#", "ACC", "Acc No", "Accession No.", "ACCN", "Accession Number",
            "Acc.", "acc #"],
    "ENC": ["Encounter", "Encounter #", "Enc ID", "Visit", "Visit #", "Visit ID", "CSN", "Encounter No.",
            "Adm #", "Admission ID"],
    "ORD": ["Order #", "Order ID", "Req #", "Requisition", "Specimen ID", "Specimen #", "Case #",
            "Study ID", "Claim #", "Claim number", "Referral #", "Auth #", "Prior auth no."],
    "SSN": ["SSN", "SSN:", "SS#", "Social Security No.", "Social Security Number", "soc sec #", "SSN#"],
    "PHONE": ["Tel", "Tel:", "Phone", "Ph", "Ph:", "phone #", "Cell", "cell:", "Home", "Mobile", "Pager",
              "Call", "contact #", "Tel.", "H:", "W:", "C:"],
    "FAX": ["Fax", "Fax:", "FAX", "F:", "fax #", "Fax no.", "fax number", "Facsimile", "Fx"],
    "EMAIL": ["Email", "E-mail:", "email:", "e-mail", "Email address:", "Contact"],
    "DEA": ["DEA", "DEA#", "DEA No.", "DEA:", "DEA number"],
    "NPI": ["NPI", "NPI#", "NPI:", "NPI No.", "Individual NPI"],
    "LIC": ["License #", "Lic#", "Lic. No.", "State license", "Licence no.", "Medical license", "MA Lic",
            "Driver's license", "DL#", "Driver license no.", "Certificate #", "Board cert. no.", "Cert. No.",
            "Permit #", "RN license"],
    "VIN": ["VIN", "VIN:", "VIN#", "vehicle identification number", "Vehicle ID"],
    "PLATE": ["license plate", "plate", "plate #", "tag", "registration", "Lic. plate", "plates"],
    "SERIAL": ["SN", "S/N", "Serial", "Serial No.", "serial #", "Serial number", "Device serial", "SN:",
               "ser. no.", "Lot/Serial", "Model/Serial", "Implant serial"],
}
