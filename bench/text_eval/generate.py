#!/usr/bin/env python3
"""Generator for the deidflow free-text de-identification evaluation set.

    python3 generate.py            # writes eval.jsonl (seed 20261207) and dev.jsonl (seed 7331)

Templates use placeholders:
    {KIND} / {KIND:style}   an identifier value drawn by a value generator, labelled with its kind
    {L:X}                   a label spelling from vocab.LABELS[X] (not an identifier)
    {S}                     a US state abbreviation (not an identifier under Safe Harbor)
    {CT:cat}                a clinical term drawn from vocab.CT[cat] (must survive)
    [[term]]                a literal clinical term (must survive)
A template may start with "!U " (render upper-case), "!l " (lower-case).
Hand-written snippets (handwritten_eval.txt / handwritten_dev.txt) use <<KIND|value>> and [[term]].
"""
import json
import random
import re
import string
import sys
import zlib
from pathlib import Path

from faker import Faker

import vocab as V
from templates import TEMPLATES, DEV_ONLY_TEMPLATES

HERE = Path(__file__).resolve().parent
KINDS = ["PERSON_NAME", "DATE", "AGE", "PHONE_NUMBER", "FAX_NUMBER", "EMAIL_ADDRESS", "US_SOCIAL_SECURITY_NUMBER",
         "MEDICAL_RECORD_NUMBER", "ACCOUNT_NUMBER", "HEALTH_PLAN_NUMBER", "LICENSE_NUMBER", "VEHICLE_ID",
         "DEVICE_ID", "URL", "IP_ADDRESS", "STREET_ADDRESS", "CITY", "ZIP_CODE", "LOCATION_OTHER", "ORGANIZATION",
         "OTHER_ID"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
LOCALES = ["en_US", "en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "nl_NL", "it_IT", "pl_PL", "sv_SE",
           "pt_BR", "ga_IE", "es_MX", "fr_CA"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        Faker.seed(seed)
        self.fk = {loc: Faker(loc) for loc in sorted(set(LOCALES))}
        for i, f in enumerate(self.fk.values()):
            f.seed_instance(seed + i)

    def f(self, loc=None):
        return self.fk[loc or self.r.choice(LOCALES)]

    def ch(self, xs):
        return self.r.choice(xs)

    def digits(self, n):
        return str(self.r.randint(1, 9)) + "".join(self.r.choice(string.digits) for _ in range(n - 1))

    # ------------------------------------------------------------ names
    def first(self):
        k = self.r.random()
        if k < 0.12:
            return self.ch(V.ACCENTED)[0]
        if k < 0.2:
            return self.ch(V.WORLD_NAMES)[0]
        return self.f().first_name()

    def last(self):
        k = self.r.random()
        if k < 0.08:
            return self.ch(V.PARTICLE_SURNAMES)
        if k < 0.15:
            return self.ch(V.HYPHENATED)
        if k < 0.23:
            return self.ch(V.ACCENTED)[1]
        if k < 0.28:
            return self.ch(V.WORLD_NAMES)[1]
        if k < 0.33:
            return self.ch(V.LONE_SURNAMES)
        if k < 0.36:
            return self.ch(V.WORDLIKE_SURNAMES)
        return self.f().last_name()

    def name(self, style=None):
        fi, la = self.first(), self.last()
        mi = self.ch(string.ascii_uppercase)
        style = style or self.ch(["full", "full", "full", "lastfirst", "dicom", "initial", "mid", "upper",
                                  "lower", "lastfirst_upper", "fi_last", "full"])
        if style == "full":
            return f"{fi} {la}"
        if style == "mid":
            return f"{fi} {mi}. {la}"
        if style == "lastfirst":
            return f"{la}, {fi}"
        if style == "lastfirst_upper":
            return f"{la.upper()}, {fi.upper()}"
        if style == "dicom":
            return self.ch([f"{la}^{fi}", f"{la.upper()}^{fi.upper()}", f"{la}^{fi}^{mi}",
                            f"{la.upper()}^{fi.upper()}^{mi}^^"]).rstrip("^")
        if style == "initial":
            return self.ch([f"{fi[0]}. {la}", f"{fi[0]}.{mi}. {la}", f"{la} {fi[0]}{mi}"])
        if style == "fi_last":
            return f"{fi[0]} {la}"
        if style == "upper":
            return f"{fi} {la}".upper()
        if style == "lower":
            return f"{fi} {la}".lower()
        if style == "last":
            return la
        if style == "first":
            return fi
        if style == "lastu":
            return la.upper()
        if style == "lone":
            return self.ch(V.LONE_SURNAMES + V.WORDLIKE_SURNAMES[:6] + [la])
        if style == "inits":
            return self.ch([f"{fi[0]}{mi}{la[0]}", f"{fi[0]}.{la[0]}.", f"{fi[0]}{la[0]}"]).upper()
        raise ValueError(style)

    # ------------------------------------------------------------ dates / ages
    def date(self, style=None):
        y = self.r.randint(1932, 2026)
        m = self.r.randint(1, 12)
        d = self.r.randint(1, 28)
        mon = MONTHS[m - 1]
        style = style or self.ch(["us", "us", "us2", "iso", "dicom", "dmy", "mdy_long", "mon_abbr", "dmon",
                                  "eu_dot", "partial", "partial", "md", "upmon", "ordinal", "monyear"])
        if style == "us":
            return f"{m:02d}/{d:02d}/{y}" if self.r.random() < .5 else f"{m}/{d}/{y}"
        if style == "us2":
            return f"{m}/{d}/{y % 100:02d}"
        if style == "iso":
            return f"{y}-{m:02d}-{d:02d}"
        if style == "dicom":
            return f"{y}{m:02d}{d:02d}"
        if style == "dmy":
            return f"{d} {mon[:3]} {y}"
        if style == "mdy_long":
            return f"{mon} {d}, {y}"
        if style == "mon_abbr":
            return f"{mon[:3]} {d} {y}" if self.r.random() < .5 else f"{mon[:3]}. {d}, {y}"
        if style == "dmon":
            return f"{d}-{mon[:3].upper()}-{y}"
        if style == "eu_dot":
            return f"{d:02d}.{m:02d}.{y}"
        if style == "partial":
            return self.ch([f"{m:02d}/{y}", f"{m}/{y}", f"{d} {mon[:3]}", f"{mon[:3]} {d}", f"{m}/{d}"])
        if style == "md":
            return f"{m}/{d}"
        if style == "upmon":
            return f"{d:02d}{mon[:3].upper()}{y}"
        if style == "ordinal":
            suf = "th" if d in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
            return self.ch([f"{mon} {d}{suf}", f"the {d}{suf} of {mon}", f"{d}{suf} {mon} {y}"])
        if style == "monyear":
            return self.ch([f"{mon} {y}", f"{mon[:3]} {y}", f"{mon[:3]}-{y % 100:02d}"])
        if style == "dt":
            return f"{y}{m:02d}{d:02d}{self.r.randint(0, 23):02d}{self.r.randint(0, 59):02d}{self.r.randint(0, 59):02d}"
        raise ValueError(style)

    def age(self, style=None):
        a = self.r.randint(90, 108)
        style = style or self.ch(["yo", "yearold", "age", "yo2", "dicom", "words", "yrs"])
        if style == "yo":
            return self.ch([f"{a} y/o", f"{a}yo", f"{a} yo", f"{a}-yo", f"{a}YO", f"{a} y.o."])
        if style == "yearold":
            return self.ch([f"{a}-year-old", f"{a} year old", f"{a}-yr-old", f"{a} yr old"])
        if style == "age":
            return str(a)
        if style == "yo2":
            return self.ch([f"{a}M", f"{a}F", f"{a} M", f"{a}y"])
        if style == "dicom":
            return f"{a:03d}Y"
        if style == "words":
            tens = {9: "ninety", 10: "one hundred"}
            ones = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
            if a < 100:
                w = tens[9] + ("-" + ones[a % 10] if a % 10 else "")
            else:
                w = "one hundred" + (" and " + ones[a % 10] if a % 10 else "")
            return self.ch([f"{w}-year-old", f"{w} years old", w]) if a < 100 else f"{w} years old"
        if style == "yrs":
            return self.ch([f"{a} years", f"{a} yrs", f"{a} y"])
        raise ValueError(style)

    # ------------------------------------------------------------ contact
    def phone(self, style=None):
        a, b, c = self.r.randint(201, 989), self.r.randint(200, 999), self.r.randint(0, 9999)
        style = style or self.ch(["paren", "dash", "dot", "plus", "bare", "ext", "space", "intl", "paren2"])
        if style == "paren":
            return f"({a}) {b}-{c:04d}"
        if style == "paren2":
            return f"({a}){b}-{c:04d}"
        if style == "dash":
            return f"{a}-{b}-{c:04d}"
        if style == "dot":
            return f"{a}.{b}.{c:04d}"
        if style == "plus":
            return self.ch([f"+1 {a} {b} {c:04d}", f"+1-{a}-{b}-{c:04d}", f"1-{a}-{b}-{c:04d}", f"+1 ({a}) {b}-{c:04d}"])
        if style == "bare":
            return f"{a}{b}{c:04d}"
        if style == "ext":
            return f"{a}-{b}-{c:04d} ext. {self.r.randint(100, 9999)}" if self.r.random() < .5 else f"({a}) {b}-{c:04d} x{self.r.randint(10, 999)}"
        if style == "space":
            return f"{a} {b} {c:04d}"
        if style == "intl":
            return self.ch([f"+44 20 {self.r.randint(7000, 8999)} {self.r.randint(1000, 9999)}",
                            f"+49 30 {self.r.randint(100000, 999999)}", f"+33 1 {b % 90 + 10} {c % 90 + 10} {a % 90 + 10} {b % 89 + 10}",
                            f"+61 2 {self.r.randint(8000, 9999)} {self.r.randint(1000, 9999)}"])
        raise ValueError(style)

    def email(self):
        fi, la = self.first(), self.last()
        k = self.r.random()
        dom = self.ch(["gmail.com", "yahoo.com", "outlook.com", "partners.org", "bidmc.harvard.edu", "comcast.net",
                       "hotmail.co.uk", "mgh.harvard.edu", "kp.org", "aol.com", "icloud.com", "proton.me",
                       "klinik-bonn.de", "hospital.es", "chu-lyon.fr", "umcg.nl"])
        def norm(s):
            return re.sub(r"[^\w]", "", s).lower()
        if k < 0.12:  # non-ASCII local part or domain
            fi2, la2 = self.ch(V.ACCENTED)
            return self.ch([f"{norm(fi2)}.{norm(la2)}@{dom}", f"{norm(la2)}@{self.ch(['müller-praxis.de', 'clínica-sur.es', 'hôpital.fr', 'mail.ru'])}",
                            f"{norm(fi2)}{self.r.randint(1, 99)}@{dom}"])
        if k < 0.2:
            return self.f("en_US").email()
        return self.ch([f"{norm(fi)}.{norm(la)}@{dom}", f"{norm(fi)[0]}{norm(la)}@{dom}",
                        f"{norm(la)}{self.r.randint(1, 999)}@{dom}", f"{norm(fi)}_{norm(la)[:4]}{self.r.randint(10, 99)}@{dom}",
                        f"{norm(fi).upper()}.{norm(la).upper()}@{dom.upper()}"])

    def url(self):
        host = self.ch(["mychart", "portal", "pacs", "ris", "imaging", "www", "fileshare", "patientgateway"])
        org = self.ch(["stmarys", "riverside-med", "lakeviewrmc", "mercyhealth", "bayviewimaging", "northshorecardio",
                       "cedarvalleyhospital", "harborview", "tuftsmedicine", "goodsam"])
        tld = self.ch(["org", "com", "net", "edu", "health", "us", "de"])
        k = self.r.random()
        pid = self.digits(7)
        if k < 0.35:
            return f"https://{host}.{org}.{tld}/patient/{pid}"
        if k < 0.55:
            return f"http://{host}.{org}.{tld}/viewer?study={self.digits(10)}"
        if k < 0.7:
            return f"www.{org}.{tld}"
        if k < 0.8:
            return f"{host}.{org}.{tld}"
        if k < 0.9:
            return f"https://{org}.{tld}/u/{self.f('en_US').user_name()}"
        return f"ftp://{host}.{org}.{tld}/exports/{self.digits(8)}.zip"

    def ip(self):
        k = self.r.random()
        if k < 0.45:
            return f"10.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"
        if k < 0.7:
            return f"192.168.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"
        if k < 0.85:
            return f"{self.r.randint(11, 223)}.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"
        return self.ch([f"fe80::{self.r.randint(0, 65535):x}:{self.r.randint(0, 65535):x}",
                        f"2001:db8:{self.r.randint(0, 65535):x}::{self.r.randint(1, 65535):x}",
                        f"172.{self.r.randint(16, 31)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"])

    # ------------------------------------------------------------ numbers
    def ssn(self):
        a, b, c = self.r.randint(100, 665), self.r.randint(10, 99), self.r.randint(1000, 9999)
        return self.ch([f"{a}-{b}-{c}", f"{a}-{b}-{c}", f"{a} {b} {c}", f"{a}{b}{c}", f"XXX-XX-{c}"][:4])

    def mrn(self):
        return self.ch([self.digits(7), self.digits(8), self.digits(6), "00" + self.digits(6), f"MR{self.digits(7)}",
                        f"{self.ch(string.ascii_uppercase)}{self.digits(7)}", f"{self.digits(3)}-{self.digits(2)}-{self.digits(2)}",
                        f"E{self.digits(9)}", f"{self.digits(2)}-{self.digits(6)}", self.digits(10)])

    def acct(self):
        return self.ch([self.digits(9), self.digits(10), self.digits(12), f"{self.digits(4)}-{self.digits(6)}",
                        f"A{self.digits(9)}", f"FIN{self.digits(8)}", self.digits(8)])

    def hpn(self):
        L = string.ascii_uppercase
        return self.ch([f"{''.join(self.r.choice(L) for _ in range(3))}{self.digits(9)}", self.digits(11),
                        f"W{self.digits(9)}", f"{self.digits(3)}{''.join(self.r.choice(L) for _ in range(2))}{self.digits(4)}",
                        f"GRP-{self.digits(6)}", f"{self.digits(6)}-{self.digits(3)}", f"ZGP{self.digits(8)}01",
                        f"{self.digits(9)}A"])

    def mbi(self):
        # Medicare Beneficiary Identifier: C A AN N A AN N A A N N ; letters exclude S L O I B Z
        AL = "ACDEFGHJKMNPQRTUVWXY"
        AN = AL + string.digits
        c = [str(self.r.randint(1, 9)), self.ch(AL), self.ch(AN), str(self.r.randint(0, 9)), self.ch(AL), self.ch(AN),
             str(self.r.randint(0, 9)), self.ch(AL), self.ch(AL), str(self.r.randint(0, 9)), str(self.r.randint(0, 9))]
        s = "".join(c)
        return self.ch([s, f"{s[:4]}-{s[4:7]}-{s[7:]}"])

    def dea(self):
        L = string.ascii_uppercase
        d = [self.r.randint(0, 9) for _ in range(6)]
        chk = ((d[0] + d[2] + d[4]) + 2 * (d[1] + d[3] + d[5])) % 10
        return self.ch("ABFM") + self.ch(L) + "".join(map(str, d)) + str(chk)

    def npi(self):
        base = [self.r.randint(1, 2)] + [self.r.randint(0, 9) for _ in range(8)]
        tot = 24
        for i, dd in enumerate(reversed(base)):
            if i % 2 == 0:
                dd *= 2
                dd = dd - 9 if dd > 9 else dd
            tot += dd
        return "".join(map(str, base)) + str((10 - tot % 10) % 10)

    def lic(self):
        L = string.ascii_uppercase
        return self.ch([f"{self.digits(5)}", f"MD{self.digits(6)}", f"RN{self.digits(7)}", f"{self.ch(L)}{self.digits(7)}",
                        f"S{self.digits(3)}-{self.digits(4)}-{self.digits(4)}", f"{self.ch(L)}{self.digits(4)}-{self.digits(5)}-{self.digits(5)}",
                        f"LIC-{self.digits(6)}", f"{self.digits(3)}{self.ch(L)}{self.ch(L)}{self.digits(4)}", f"C{self.digits(8)}"])

    def vin(self):
        AL = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        return self.ch(["1", "2", "3", "J", "W", "5", "K"]) + "".join(self.r.choice(AL) for _ in range(16))

    def plate(self):
        L = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self.ch([f"{self.r.randint(1, 9)}{''.join(self.r.choice(L) for _ in range(3))}{self.r.randint(100, 999)}",
                        f"{''.join(self.r.choice(L) for _ in range(3))}-{self.r.randint(1000, 9999)}",
                        f"{''.join(self.r.choice(L) for _ in range(3))} {self.r.randint(100, 999)}",
                        f"{self.r.randint(100, 999)}-{''.join(self.r.choice(L) for _ in range(3))}",
                        f"{''.join(self.r.choice(L) for _ in range(2))}{self.r.randint(10, 99)} {''.join(self.r.choice(L) for _ in range(3))}"])

    def serial(self):
        L = string.ascii_uppercase
        return self.ch([f"PJN{self.digits(6)}H", f"RNA{self.digits(6)}S", f"{self.ch(L)}{self.ch(L)}{self.digits(8)}",
                        f"SN{self.digits(9)}", f"{self.digits(4)}-{self.digits(4)}-{self.ch(L)}{self.ch(L)}",
                        f"BLC{self.digits(7)}", f"{self.digits(10)}", f"(21){self.digits(8)}", f"NWB{self.digits(6)}",
                        f"X{self.digits(3)}{self.ch(L)}{self.digits(5)}", f"US{self.digits(5)}{self.ch(L)}{self.digits(3)}"])

    def accession(self):
        return self.ch([self.digits(8), self.digits(10), f"CT{self.digits(8)}", f"RAD-{self.digits(7)}", f"A{self.digits(8)}",
                        f"{self.digits(2)}-{self.digits(7)}", f"MR{self.digits(9)}", f"E{self.digits(7)}", self.digits(12),
                        f"US{self.digits(6)}", f"{self.r.randint(2000, 2026)}{self.digits(6)}"])

    def enc(self):
        return self.ch([self.digits(9), self.digits(10), f"V{self.digits(8)}", f"ENC-{self.digits(7)}",
                        f"{self.digits(4)}{self.ch(string.ascii_uppercase)}{self.digits(5)}", self.digits(11)])

    def ordid(self):
        L = string.ascii_uppercase
        return self.ch([f"S{self.r.randint(10, 26)}-{self.digits(5)}", f"{self.ch(L)}{self.ch(L)}{self.digits(6)}",
                        self.digits(9), f"CLM{self.digits(9)}", f"REQ-{self.digits(6)}", f"{self.digits(3)}-{self.digits(3)}-{self.digits(4)}",
                        f"PA{self.digits(7)}", f"SP-{self.r.randint(10, 26)}-{self.digits(6)}"])

    def bare(self):
        return self.ch([self.digits(8), self.digits(9), self.digits(10), self.digits(11), self.digits(12), self.digits(7)])

    def bio(self):
        L = string.ascii_uppercase
        return self.ch([f"FP-{self.digits(6)}", f"IRIS{self.digits(7)}", f"VP{self.digits(8)}", f"BIO-{self.ch(L)}{self.digits(6)}",
                        f"IMG_{self.digits(4)}", f"PHOTO-{self.digits(7)}", f"DSC{self.digits(5)}"])

    # ------------------------------------------------------------ places
    def street(self):
        k = self.r.random()
        if k < 0.55:
            s = self.f("en_US").street_address()
        elif k < 0.7:
            s = self.f(self.ch(["de_DE", "fr_FR", "es_ES", "nl_NL", "en_GB", "it_IT"])).street_address()
        elif k < 0.8:
            s = f"P.O. Box {self.r.randint(1, 9999)}"
        elif k < 0.9:
            s = f"{self.r.randint(1, 9999)} {self.ch(['Elm', 'Maple', 'Oak', 'Pine', 'Cedar', 'Main', 'Washington', 'Beacon', 'Commonwealth'])} {self.ch(['St', 'St.', 'Street', 'Ave', 'Avenue', 'Rd', 'Road', 'Blvd', 'Dr', 'Lane', 'Ct', 'Way'])}"
            s += self.ch(["", "", f", Apt {self.r.randint(1, 40)}{self.ch('ABCD')}", f" #{self.r.randint(1, 500)}", f", Unit {self.r.randint(1, 20)}"])
        else:
            s = f"{self.r.randint(1, 999)} {self.f('en_US').last_name()} {self.ch(['Street', 'Road', 'Terrace', 'Circle', 'Place'])}"
        return s.replace("\n", " ")

    def city(self):
        return self.ch(V.CITIES) if self.r.random() < 0.6 else self.f("en_US").city()

    def zip(self):
        z = f"{self.r.randint(1000, 99950):05d}"
        return z if self.r.random() < 0.75 else f"{z}-{self.r.randint(1, 9999):04d}"

    def org(self, style=None):
        style = style or self.ch(["hosp", "hosp", "clinic", "employer", "company"])
        if style == "hosp":
            return self.ch(V.HOSPITALS)
        if style == "clinic":
            return self.ch(V.CLINICS)
        if style == "employer":
            return self.ch(V.EMPLOYERS)
        return self.f("en_US").company()

    def county(self):
        return self.ch(V.COUNTIES)

    def locother(self):
        return self.ch(V.LOCATIONS_OTHER) if self.r.random() < 0.6 else self.ch(V.COUNTIES)


# placeholder -> (kind, generator)
def make_value(g, key, style):
    if key == "NAME":
        return "PERSON_NAME", g.name(style)
    if key == "DATE":
        return "DATE", g.date(style)
    if key == "AGE":
        return "AGE", g.age(style)
    if key == "PHONE":
        return "PHONE_NUMBER", g.phone(style)
    if key == "FAX":
        return "FAX_NUMBER", g.phone(style)
    if key == "EMAIL":
        return "EMAIL_ADDRESS", g.email()
    if key == "SSN":
        return "US_SOCIAL_SECURITY_NUMBER", g.ssn()
    if key == "MRN":
        return "MEDICAL_RECORD_NUMBER", g.mrn()
    if key == "ACCT":
        return "ACCOUNT_NUMBER", g.acct()
    if key == "HPN":
        return "HEALTH_PLAN_NUMBER", g.hpn()
    if key == "MBI":
        return "HEALTH_PLAN_NUMBER", g.mbi()
    if key == "DEA":
        return "LICENSE_NUMBER", g.dea()
    if key == "NPI":
        return "LICENSE_NUMBER", g.npi()
    if key == "LIC":
        return "LICENSE_NUMBER", g.lic()
    if key == "VIN":
        return "VEHICLE_ID", g.vin()
    if key == "PLATE":
        return "VEHICLE_ID", g.plate()
    if key == "SERIAL":
        return "DEVICE_ID", g.serial()
    if key == "URL":
        return "URL", g.url()
    if key == "IP":
        return "IP_ADDRESS", g.ip()
    if key == "STREET":
        return "STREET_ADDRESS", g.street()
    if key == "CITY":
        return "CITY", g.city()
    if key == "ZIP":
        return "ZIP_CODE", g.zip()
    if key == "COUNTY":
        return "LOCATION_OTHER", g.county()
    if key == "LOC":
        return "LOCATION_OTHER", g.locother()
    if key == "ORG":
        return "ORGANIZATION", g.org(style)
    if key == "ACC":
        return "OTHER_ID", g.accession()
    if key == "ENC":
        return "OTHER_ID", g.enc()
    if key == "ORD":
        return "OTHER_ID", g.ordid()
    if key == "BARE":
        return "OTHER_ID", g.bare()
    if key == "BIO":
        return "OTHER_ID", g.bio()
    raise KeyError(key)


TOKEN = re.compile(r"\{(\w+)(?::([\w]+))?\}|\[\[(.+?)\]\]")
HAND = re.compile(r"<<(\w+)\|(.+?)>>|\[\[(.+?)\]\]")


def render(g, template):
    case = None
    if template.startswith("!U "):
        case, template = "upper", template[3:]
    elif template.startswith("!l "):
        case, template = "lower", template[3:]

    def cased(s):
        if case == "upper":
            return s.upper()
        if case == "lower":
            return s.lower()
        return s

    out, ids, terms = [], [], []
    pos = 0
    last = 0
    for m in TOKEN.finditer(template):
        lit = cased(template[last:m.start()])
        out.append(lit)
        pos += len(lit)
        last = m.end()
        key, style, literal = m.group(1), m.group(2), m.group(3)
        if literal is not None:
            v = cased(literal)
            terms.append({"start": pos, "end": pos + len(v), "value": v})
        elif key == "L":
            v = cased(g.ch(V.LABELS[style]))
        elif key == "S":
            v = cased(g.ch(V.STATES))
        elif key == "CT":
            v = cased(g.ch(V.CT[style]))
            terms.append({"start": pos, "end": pos + len(v), "value": v})
        else:
            kind, v = make_value(g, key, style)
            v = re.sub(r"\s+", " ", cased(v)).strip()
            ids.append({"start": pos, "end": pos + len(v), "kind": kind, "value": v})
        out.append(v)
        pos += len(v)
    tail = cased(template[last:])
    out.append(tail)
    return "".join(out), ids, terms


def parse_hand(text):
    out, ids, terms, pos, last = [], [], [], 0, 0
    for m in HAND.finditer(text):
        lit = text[last:m.start()]
        out.append(lit)
        pos += len(lit)
        last = m.end()
        if m.group(3) is not None:
            v = m.group(3)
            terms.append({"start": pos, "end": pos + len(v), "value": v})
        else:
            kind, v = m.group(1), m.group(2)
            assert kind in KINDS, kind
            ids.append({"start": pos, "end": pos + len(v), "kind": kind, "value": v})
        out.append(v)
        pos += len(v)
    out.append(text[last:])
    return "".join(out), ids, terms


def load_hand(path):
    blocks = []
    cur_kind, cur = None, []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            if cur_kind is not None:
                blocks.append((cur_kind, "\n".join(cur).strip("\n")))
            cur_kind, cur = line[4:].strip(), []
        elif cur_kind is not None:
            cur.append(line)
    if cur_kind is not None:
        blocks.append((cur_kind, "\n".join(cur).strip("\n")))
    return [(k, t) for k, t in blocks if t]


def verify(rec):
    text = rec["text"]
    spans = sorted(rec["identifiers"], key=lambda s: s["start"])
    for s in rec["identifiers"] + rec["clinical_terms"]:
        assert text[s["start"]:s["end"]] == s["value"], (rec["id"], s)
        assert s["value"] and s["value"] == s["value"].strip(), (rec["id"], s)
    for a, b in zip(spans, spans[1:]):
        assert a["end"] <= b["start"], (rec["id"], a, b)
    for t in rec["clinical_terms"]:
        for s in spans:
            assert t["end"] <= s["start"] or t["start"] >= s["end"], (rec["id"], t, s)
    assert len(text) < 10000


def split_for(tpl, split):
    h = zlib.crc32(tpl.encode("utf-8")) % 4
    return (h != 0) if split == "dev" else (h != 1)


def build(split, seed, n_target, min_per_kind, min_terms):
    g = Gen(seed)
    pools = {}
    for tk, tpls in TEMPLATES.items():
        pools[tk] = [t for t in tpls if split_for(t, split)]
        if split == "dev":
            pools[tk] += DEV_ONLY_TEMPLATES.get(tk, [])
    recs = []
    counts = {k: 0 for k in KINDS}
    nterms = 0

    def add(tk, text, ids, terms, origin):
        nonlocal nterms
        rec = {"id": f"{split}-{len(recs) + 1:05d}", "text_kind": tk, "origin": origin, "text": text,
               "identifiers": ids, "clinical_terms": terms}
        verify(rec)
        recs.append(rec)
        for s in ids:
            counts[s["kind"]] += 1
        nterms += len(terms)

    hand = load_hand(HERE / f"handwritten_{split}.txt")
    for tk, t in hand:
        text, ids, terms = parse_hand(t)
        add(tk, text, ids, terms, "handwritten")
    kinds_order = list(pools)
    weights = {"radiology_report": 3, "discharge_summary": 2, "nursing_note": 2, "dicom_description": 4,
               "fhir_text": 3}
    flat = [(tk, t) for tk in kinds_order for t in pools[tk]]
    # every template at least once
    order = flat[:]
    g.r.shuffle(order)
    for tk, t in order:
        add(tk, *render(g, t), "template")
    while sum(counts.values()) < n_target:
        tk = g.r.choices(kinds_order, [weights[k] for k in kinds_order])[0]
        add(tk, *render(g, g.ch(pools[tk])), "template")
    # top up thin kinds
    placeholder_kind = {"NAME": "PERSON_NAME", "DATE": "DATE", "AGE": "AGE", "PHONE": "PHONE_NUMBER", "FAX": "FAX_NUMBER",
                        "EMAIL": "EMAIL_ADDRESS", "SSN": "US_SOCIAL_SECURITY_NUMBER", "MRN": "MEDICAL_RECORD_NUMBER",
                        "ACCT": "ACCOUNT_NUMBER", "HPN": "HEALTH_PLAN_NUMBER", "MBI": "HEALTH_PLAN_NUMBER",
                        "DEA": "LICENSE_NUMBER", "NPI": "LICENSE_NUMBER", "LIC": "LICENSE_NUMBER", "VIN": "VEHICLE_ID",
                        "PLATE": "VEHICLE_ID", "SERIAL": "DEVICE_ID", "URL": "URL", "IP": "IP_ADDRESS",
                        "STREET": "STREET_ADDRESS", "CITY": "CITY", "ZIP": "ZIP_CODE", "COUNTY": "LOCATION_OTHER",
                        "LOC": "LOCATION_OTHER", "ORG": "ORGANIZATION", "ACC": "OTHER_ID", "ENC": "OTHER_ID",
                        "ORD": "OTHER_ID", "BARE": "OTHER_ID", "BIO": "OTHER_ID"}
    for _ in range(5000):
        thin = [k for k in KINDS if counts[k] < min_per_kind]
        if not thin and nterms >= min_terms:
            break
        want = thin[0] if thin else None
        cands = [(tk, t) for tk, t in flat
                 if want is None and ("{CT:" in t or "[[" in t)
                 or want is not None and any(placeholder_kind.get(m.group(1)) == want for m in TOKEN.finditer(t))]
        if not cands:
            print("no template for", want, split, file=sys.stderr)
            cands = [(tk, t) for tk, tpls in TEMPLATES.items() for t in tpls
                     if any(placeholder_kind.get(m.group(1)) == want for m in TOKEN.finditer(t))]
        tk, t = g.ch(cands)
        add(tk, *render(g, t), "template")
    return recs, counts, nterms


def main():
    for split, seed, n_target, min_k, min_terms in (("eval", 20261207, 3000, 60, 1200), ("dev", 7331, 750, 15, 300)):
        recs, counts, nterms = build(split, seed, n_target, min_k, min_terms)
        with open(HERE / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(split, len(recs), "snippets", sum(counts.values()), "identifiers", nterms, "terms", file=sys.stderr)
        for k in KINDS:
            print(f"  {k:28s} {counts[k]}", file=sys.stderr)


if __name__ == "__main__":
    main()
