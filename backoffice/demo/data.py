"""Demo and benchmark cases.

Two very different producers share one pool of names, passports and texts:

- :func:`seed_demo_cases` builds about sixty hand-shaped cases through the real services
  (``create_case``, ``add_dependant``, ``transition``, ``reassign``), so every event, guard and
  stamp is the one a caseworker would produce. Dates are in the past: each case is played
  forward from a received date and its events are backdated to the moment each step was taken,
  so the history reads true. Deterministic for a given seed and run day.
- :func:`bulk_load_cases` loads N synthetic cases for benchmarks without the ORM: rows are
  generated in chunks and sent with PostgreSQL ``COPY`` (chunked Core ``executemany``
  elsewhere). It fills every column a CHECK constraint ties to a status, reserves reference
  numbers from ``reference_counters`` with the same atomic UPDATE the service uses, and fills
  ``name_search`` with :func:`~backoffice.cases.models.search_text`.

Nothing here commits: the ``flask seed-demo`` command does, once.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time as clock
import unicodedata
from bisect import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from itertools import accumulate

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from backoffice.auth.models import User
from backoffice.cases import services, stay
from backoffice.cases.models import (
    Applicant,
    Case,
    CaseEvent,
    Dependant,
    ReferenceCounter,
    Relationship,
    search_text,
)
from backoffice.cases.schemes import (
    CaseStatus,
    GovernmentProgramme,
    Scheme,
    SchemePolicy,
    policy_for,
)
from backoffice.core.dates import HK_TZ, add_months, hk_today, utcnow
from backoffice.core.identity import hkid_check_digit
from backoffice.extensions import db

DEMO_SEED = 20261125
# Demo applicants' email domain: how `seed-demo` recognises that its cases already exist.
DEMO_EMAIL_DOMAIN = "applicant.example.net"
BULK_EMAIL_DOMAIN = "bulk.example.net"

S = CaseStatus

# --- People ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nation:
    """Name pools and document formats for one nationality (ISO 3166-1 alpha-2)."""

    code: str
    family: tuple[str, ...]
    male: tuple[str, ...]
    female: tuple[str, ...]
    passport: str  # 'A' a letter, '9' a digit, anything else literal
    phone: str  # international prefix
    # Chinese-name style: None, "pinyin" (simplified), "taiwan" or "cantonese" (traditional)
    chinese: str | None = None


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


NATIONS: dict[str, Nation] = {n.code: n for n in (
    Nation("GB", _w("Smith,Jones,Taylor,Brown,Williams,Wilson,Davies,Evans,Thomas,Roberts,"
                    "Walker,Wright,Hughes,Edwards,Green,Hall,Clarke,Patel,Khan,Morgan"),
           _w("Oliver,James,Thomas,William,Harry,George,Daniel,Matthew,Samuel,Joseph"),
           _w("Charlotte,Emily,Sophie,Olivia,Amelia,Hannah,Eleanor,Grace,Lucy,Isabel"),
           "999999999", "+44"),
    Nation("US", _w("Johnson,Miller,Garcia,Rodriguez,Martinez,Anderson,Jackson,White,Harris,"
                    "Thompson,Moore,Clark,Lewis,Robinson,Young,Allen,King,Scott,Baker,Nelson"),
           _w("Michael,Christopher,Joshua,Andrew,Ryan,Tyler,Brandon,Justin,Kevin,Jason"),
           _w("Jessica,Ashley,Jennifer,Sarah,Megan,Lauren,Rachel,Samantha,Brittany,Nicole"),
           "A99999999", "+1"),
    Nation("CA", _w("Tremblay,Gagnon,Roy,Côté,Bouchard,Gauthier,Morin,Lavoie,Fortin,MacDonald,"
                    "Campbell,Stewart,Murray,Fraser,Reid"),
           _w("Liam,Noah,Félix,Étienne,Nathan,Gabriel,Logan,Owen,Connor,Mathieu"),
           _w("Chloé,Léa,Émilie,Madison,Avery,Jasmine,Camille,Maude,Brooke,Hailey"),
           "AA999999", "+1"),
    Nation("AU", _w("Nguyen,Kelly,O'Brien,Ryan,Mitchell,Campbell,Kennedy,Murphy,Sullivan,"
                    "Harrison,Cooper,Ward,Turner,Morris,Bell"),
           _w("Jack,Lachlan,Cooper,Riley,Hamish,Angus,Mitchell,Bailey,Jayden,Fletcher"),
           _w("Chloe,Mia,Ruby,Matilda,Sienna,Zoe,Isla,Jasmine,Tahlia,Georgia"),
           "PA9999999", "+61"),
    Nation("NZ", _w("Ngata,Parata,Tane,Smith,Anderson,Walker,Thompson,Wilson,Stewart,Reid"),
           _w("Nikau,Tama,Ariki,Finn,Hunter,Blake,Cameron,Hemi,Rawiri,Te Rangi"),
           _w("Aroha,Mere,Ana,Kaia,Maia,Hana,Ngaio,Anahera,Stella,Rosie"),
           "LA999999", "+64"),
    Nation("IE", _w("Murphy,Kelly,O'Sullivan,Walsh,O'Connor,McCarthy,Byrne,Doyle,Quinn,Brennan"),
           _w("Seán,Conor,Cian,Oisín,Darragh,Eoin,Cillian,Fionn,Niall,Padraig"),
           _w("Aoife,Siobhán,Niamh,Caoimhe,Saoirse,Róisín,Clodagh,Orla,Ciara,Aisling"),
           "AA9999999", "+353"),
    Nation("FR", _w("Martin,Bernard,Dubois,Thomas,Robert,Richard,Petit,Durand,Leroy,Moreau,"
                    "Lefèvre,Garnier,Rousseau,Fontaine,Chevalier"),
           _w("Lucas,Hugo,Théo,Louis,Antoine,Julien,Maxime,Alexandre,Baptiste,Clément"),
           _w("Manon,Camille,Inès,Léa,Juliette,Pauline,Margaux,Élodie,Océane,Anaïs"),
           "99AA99999", "+33"),
    Nation("DE", _w("Müller,Schmidt,Schneider,Fischer,Weber,Meyer,Wagner,Becker,Schulz,"
                    "Hoffmann,Koch,Richter,Wolf,Schröder,Neumann"),
           _w("Lukas,Jonas,Leon,Felix,Maximilian,Tobias,Niklas,Florian,Sebastian,Jan"),
           _w("Anna,Lena,Laura,Julia,Katharina,Lisa,Hannah,Sophie,Marie,Johanna"),
           "C99999999", "+49"),
    Nation("IT", _w("Rossi,Russo,Ferrari,Esposito,Bianchi,Romano,Colombo,Ricci,Marino,Greco,"
                    "Bruno,Gallo,Conti,De Luca,Costa"),
           _w("Lorenzo,Alessandro,Matteo,Francesco,Leonardo,Davide,Riccardo,Andrea,Marco,Luca"),
           _w("Giulia,Chiara,Francesca,Sara,Martina,Alessia,Valentina,Federica,Elisa,Silvia"),
           "AA9999999", "+39"),
    Nation("ES", _w("García,Fernández,González,Rodríguez,López,Martínez,Sánchez,Pérez,Gómez,"
                    "Martín,Jiménez,Ruiz,Hernández,Díaz,Moreno"),
           _w("Alejandro,Pablo,Javier,Sergio,Álvaro,Diego,Adrián,Iván,Jorge,Raúl"),
           _w("Lucía,María,Paula,Laura,Marta,Andrea,Elena,Irene,Carmen,Nerea"),
           "AAA999999", "+34"),
    Nation("NL", _w("de Jong,Jansen,de Vries,van den Berg,van Dijk,Bakker,Janssen,Visser,Smit,"
                    "Meijer"),
           _w("Daan,Sem,Lars,Bram,Thijs,Ruben,Jesse,Stijn,Joris,Sven"),
           _w("Emma,Sanne,Fleur,Anouk,Lotte,Femke,Iris,Noor,Eva,Lieke"),
           "AA9999999", "+31"),
    Nation("SE", _w("Andersson,Johansson,Karlsson,Nilsson,Eriksson,Larsson,Olsson,Persson,"
                    "Svensson,Lindqvist"),
           _w("Erik,Lars,Anders,Johan,Karl,Oskar,Axel,Gustav,Viktor,Emil"),
           _w("Astrid,Elin,Maja,Linnea,Ebba,Sofia,Ingrid,Saga,Frida,Klara"),
           "99999999", "+46"),
    Nation("PL", _w("Nowak,Kowalski,Wiśniewski,Wójcik,Kowalczyk,Kamiński,Lewandowski,Zieliński,"
                    "Szymański,Woźniak"),
           _w("Piotr,Krzysztof,Tomasz,Paweł,Michał,Marcin,Jakub,Łukasz,Mateusz,Bartosz"),
           _w("Anna,Katarzyna,Agnieszka,Magdalena,Joanna,Aleksandra,Zofia,Natalia,Ewa,Monika"),
           "AA9999999", "+48"),
    Nation("UA", _w("Shevchenko,Kovalenko,Bondarenko,Tkachenko,Kravchenko,Oliynyk,Melnyk,Boyko,"
                    "Moroz,Lysenko"),
           _w("Oleksandr,Andriy,Dmytro,Serhiy,Mykola,Yuriy,Taras,Bohdan,Vasyl,Ihor"),
           _w("Olena,Iryna,Nataliya,Oksana,Tetiana,Yulia,Kateryna,Svitlana,Mariya,Halyna"),
           "AA999999", "+380"),
    Nation("BR", _w("Silva,Santos,Oliveira,Souza,Lima,Pereira,Ferreira,Costa,Rodrigues,Almeida,"
                    "Nascimento,Carvalho,Araújo,Ribeiro,Gomes"),
           _w("João,Pedro,Lucas,Gabriel,Rafael,Gustavo,Felipe,Thiago,Bruno,Rodrigo"),
           _w("Ana,Beatriz,Juliana,Camila,Larissa,Fernanda,Mariana,Letícia,Gabriela,Vitória"),
           "AA999999", "+55"),
    Nation("MX", _w("Hernández,García,Martínez,López,González,Pérez,Rodríguez,Sánchez,Ramírez,"
                    "Cruz,Flores,Gómez,Morales,Vázquez,Reyes"),
           _w("José,Juan,Luis,Carlos,Jesús,Miguel,Fernando,Ricardo,Eduardo,Andrés"),
           _w("Guadalupe,Fernanda,Daniela,Valeria,Ximena,Sofía,Regina,Renata,Mariana,Alejandra"),
           "A99999999", "+52"),
    Nation("AR", _w("González,Rodríguez,Gómez,Fernández,López,Díaz,Martínez,Pérez,Romero,"
                    "Sosa"),
           _w("Santiago,Mateo,Facundo,Nicolás,Tomás,Joaquín,Agustín,Federico,Martín,Ignacio"),
           _w("Valentina,Martina,Camila,Florencia,Agustina,Micaela,Lucía,Julieta,Sol,Milagros"),
           "AAA999999", "+54"),
    Nation("IN", _w("Sharma,Patel,Singh,Kumar,Gupta,Reddy,Iyer,Nair,Menon,Rao,Mehta,Joshi,"
                    "Chatterjee,Banerjee,Desai,Kapoor,Malhotra,Verma,Pillai,Krishnan"),
           _w("Arjun,Rahul,Vikram,Aditya,Rohan,Siddharth,Karthik,Nikhil,Pranav,Varun,Amit,"
              "Suresh"),
           _w("Priya,Ananya,Kavya,Divya,Pooja,Neha,Shreya,Aishwarya,Lakshmi,Meera,Anjali,"
              "Deepika"),
           "A9999999", "+91"),
    Nation("PK", _w("Khan,Ahmed,Ali,Hussain,Malik,Iqbal,Qureshi,Siddiqui,Butt,Chaudhry"),
           _w("Muhammad,Ahmed,Bilal,Usman,Hamza,Faisal,Imran,Zain,Omar,Hassan"),
           _w("Ayesha,Fatima,Sana,Hira,Maryam,Zainab,Amna,Mahnoor,Rabia,Sadia"),
           "AA9999999", "+92"),
    Nation("BD", _w("Rahman,Hossain,Islam,Ahmed,Chowdhury,Uddin,Akter,Sarkar,Das,Miah"),
           _w("Arif,Tanvir,Rafiq,Sabbir,Mahmud,Nafis,Rakib,Shakil,Tahmid,Imtiaz"),
           _w("Nusrat,Farzana,Tahmina,Sharmin,Sadia,Rumana,Nasrin,Lamia,Tasnim,Afsana"),
           "A99999999", "+880"),
    Nation("LK", _w("Perera,Fernando,de Silva,Bandara,Jayawardena,Wickramasinghe,Gunawardena,"
                    "Rajapaksa,Dissanayake,Senanayake"),
           _w("Kasun,Chamara,Nuwan,Dinesh,Tharindu,Ruwan,Sampath,Lahiru,Asanka,Isuru"),
           _w("Nadeesha,Dilini,Sachini,Chathurika,Ishara,Nimali,Tharushi,Anjali,Kumari,Hiruni"),
           "N9999999", "+94"),
    Nation("NP", _w("Shrestha,Gurung,Tamang,Thapa,Rai,Magar,Adhikari,Karki,Poudel,Limbu"),
           _w("Bikash,Suman,Rajesh,Prakash,Dipesh,Anil,Sagar,Ramesh,Binod,Kiran"),
           _w("Sita,Gita,Sunita,Anita,Sabina,Pooja,Srijana,Manisha,Kabita,Pratima"),
           "99999999", "+977"),
    Nation("PH", _w("Santos,Reyes,Cruz,Bautista,Ocampo,Garcia,Mendoza,Torres,Dela Cruz,"
                    "Villanueva,Ramos,Aquino,Castillo,Navarro,Soriano"),
           _w("Jose,Mark,John Paul,Carlo,Rafael,Miguel,Paolo,Angelo,Jericho,Christian"),
           _w("Maria,Kristine,Angelica,Patricia,Jasmine,Camille,Andrea,Nicole,Bea,Katrina"),
           "P9999999A", "+63"),
    Nation("ID", _w("Wijaya,Santoso,Halim,Susanto,Gunawan,Setiawan,Kusuma,Hidayat,Saputra,"
                    "Pratama"),
           _w("Budi,Agus,Andi,Dedi,Eko,Hendra,Rizky,Fajar,Arief,Yusuf"),
           _w("Siti,Dewi,Putri,Ayu,Rina,Wulan,Indah,Fitri,Ratna,Intan"),
           "A9999999", "+62"),
    Nation("MY", _w("Tan,Lim,Lee,Ng,Wong,Ong,Teoh,Goh,Chong,Abdullah,Ismail,Ibrahim,Rahman,"
                    "Raj,Subramaniam"),
           _w("Wei Jie,Jun Hao,Kah Wai,Ahmad,Hafiz,Faris,Arvind,Ravi,Daniel,Marcus"),
           _w("Mei Ling,Hui Min,Siew Lan,Nurul,Aisyah,Farah,Kavitha,Shalini,Michelle,Rachel"),
           "A99999999", "+60", "pinyin"),
    Nation("SG", _w("Tan,Lim,Lee,Ng,Ong,Wong,Goh,Chua,Koh,Teo,Ang,Yeo,Tay,Ho,Low"),
           _w("Jun Wei,Wei Ming,Zhi Hao,Jia Hui,Marcus,Bryan,Darren,Glenn,Shawn,Ryan"),
           _w("Hui Ling,Xin Yi,Li Ting,Jia Min,Rachel,Cheryl,Michelle,Sharon,Vanessa,Amanda"),
           "K9999999A", "+65", "pinyin"),
    Nation("TH", _w("Saetang,Srisuk,Chaiyaporn,Wongsawat,Kittisak,Rattanakorn,Sukprasert,"
                    "Thongchai,Boonmee,Phromma"),
           _w("Somchai,Anan,Krit,Nattapong,Thanawat,Chaiwat,Pakorn,Surasak,Wichai,Teerawat"),
           _w("Siriporn,Nattaya,Kanokwan,Ploy,Pimchanok,Supaporn,Wanida,Araya,Chutima,Rattana"),
           "AA9999999", "+66"),
    Nation("VN", _w("Nguyen,Tran,Le,Pham,Hoang,Phan,Vu,Vo,Dang,Bui,Do,Ho,Ngo,Duong,Ly"),
           _w("Minh,Duc,Hung,Tuan,Quang,Thanh,Long,Khoa,Phuc,Bao"),
           _w("Linh,Huong,Trang,Lan,Mai,Thao,Ngoc,Hanh,Phuong,Anh"),
           "C9999999", "+84"),
    Nation("LA", _w("Phommachanh,Vongsa,Sisouphanh,Keomany,Inthavong,Phanthavong,Souvannavong,"
                    "Chanthavong,Sengdara,Xayavong"),
           _w("Somsack,Khamphan,Bounmy,Phonesavanh,Souksavanh,Vilaysack,Anousone,Thongsavanh"),
           _w("Manivone,Vanida,Phonemaly,Souphaphone,Kesone,Malayvanh,Daovone,Chanthaly"),
           "P9999999", "+856"),
    Nation("JP", _w("Sato,Suzuki,Takahashi,Tanaka,Watanabe,Ito,Yamamoto,Nakamura,Kobayashi,"
                    "Kato,Yoshida,Yamada,Sasaki,Yamaguchi,Matsumoto"),
           _w("Haruto,Yuto,Sota,Kenta,Daiki,Takumi,Ryota,Shota,Kaito,Hiroshi"),
           _w("Yui,Aoi,Hina,Sakura,Miyu,Haruka,Yuka,Ayaka,Misaki,Nanami"),
           "AA9999999", "+81"),
    Nation("KR", _w("Kim,Lee,Park,Choi,Jung,Kang,Cho,Yoon,Jang,Lim,Han,Oh,Seo,Shin,Kwon"),
           _w("Min-jun,Seo-jun,Ji-ho,Hyun-woo,Jae-won,Dong-hyun,Sung-min,Tae-yang,Joon-ho"),
           _w("Seo-yeon,Ji-woo,Min-seo,Ha-eun,Soo-ah,Ye-jin,Eun-ji,Hye-jin,Da-eun,Yu-na"),
           "M99999999", "+82"),
    Nation("NG", _w("Okafor,Adeyemi,Ogunleye,Eze,Nwosu,Bello,Abubakar,Adebayo,Okonkwo,Obi"),
           _w("Chinedu,Oluwaseun,Emeka,Tunde,Ifeanyi,Babatunde,Chukwuemeka,Segun,Ahmed,Kelechi"),
           _w("Ngozi,Chiamaka,Funmilayo,Adaeze,Aisha,Yetunde,Chioma,Folake,Amaka,Zainab"),
           "A99999999", "+234"),
    Nation("KE", _w("Otieno,Kamau,Wanjiru,Mwangi,Ochieng,Njoroge,Kiprop,Wambui,Mutua,Achieng"),
           _w("Brian,Kevin,Dennis,Collins,Kiprotich,Kibet,Otieno,Mwangi,Evans,Victor"),
           _w("Wanjiku,Akinyi,Njeri,Faith,Mercy,Wairimu,Chebet,Atieno,Grace,Nyambura"),
           "AK9999999", "+254"),
    Nation("ZA", _w("Nkosi,Dlamini,Ndlovu,van der Merwe,Botha,Naidoo,Khumalo,Mokoena,"
                    "Pretorius,Pillay"),
           _w("Sipho,Thabo,Pieter,Johan,Lwazi,Ruan,Kagiso,Bongani,Tshepo,Dewald"),
           _w("Thandiwe,Lerato,Nomvula,Anri,Zanele,Marelize,Palesa,Naledi,Lindiwe,Karabo"),
           "A99999999", "+27"),
    Nation("EG", _w("Hassan,Mohamed,Ibrahim,Mahmoud,Abdel Aziz,El Sayed,Mostafa,Farouk,Nasser,"
                    "Saleh"),
           _w("Ahmed,Omar,Youssef,Karim,Mostafa,Tarek,Amr,Khaled,Hossam,Sherif"),
           _w("Nour,Mariam,Salma,Yasmin,Hana,Dina,Rana,Aya,Farida,Laila"),
           "A99999999", "+20"),
    # Turkish names keep their dotless i.
    Nation("TR", _w("Yılmaz,Kaya,Demir,Şahin,Çelik,Yıldız,Yıldırım,Öztürk,Aydın,Özdemir"),  # noqa: RUF001
           _w("Mehmet,Mustafa,Emre,Burak,Can,Murat,Kerem,Oğuz,Serkan,Tolga"),
           _w("Elif,Zeynep,Ayşe,Defne,Ece,Selin,Merve,Büşra,İrem,Derya"),
           "A99999999", "+90"),
    Nation("IL", _w("Cohen,Levi,Mizrahi,Peretz,Biton,Friedman,Katz,Shapiro,Azoulay,Goldberg"),
           _w("Noam,Itai,Yonatan,Omer,Eitan,Ariel,Daniel,Yosef,Amit,Nadav"),
           _w("Noa,Tamar,Maya,Shira,Yael,Michal,Adi,Hila,Roni,Talia"),
           "99999999", "+972"),
    Nation("CN", _w("Wang,Li,Zhang,Liu,Chen,Yang,Huang,Zhao,Wu,Zhou,Xu,Sun,Ma,Zhu,Hu,Guo,He,"
                    "Lin,Gao,Luo"),
           _w("Wei,Hao,Lei,Tao,Junjie,Haoran,Yuxuan,Zihao,Jianguo,Zhiqiang"),
           _w("Jing,Min,Yan,Meiling,Jiahui,Zihan,Yiting,Xiaoyu,Shuang,Xinyi"),
           "E99999999", "+86", "pinyin"),
    Nation("TW", _w("Chen,Lin,Huang,Chang,Lee,Wang,Wu,Liu,Tsai,Yang"),
           _w("Chia-Hao,Chih-Wei,Po-Yu,Chun-Ming,Yu-Hsiang,Tsung-Han,Wei-Lun,Kuan-Ting"),
           _w("Yi-Chen,Shu-Fen,Hsin-Yi,Ya-Ting,Pei-Shan,Hui-Ju,Mei-Hua,Wan-Ting"),
           "999999999", "+886", "taiwan"),
)}

# Chinese characters for the romanised names above (simplified for pinyin, traditional for
# Taiwan and Cantonese). A romanisation without an entry simply gets no Chinese name.
_HANZI: dict[str, dict[str, str]] = {
    "pinyin": {
        "Wang": "王", "Li": "李", "Zhang": "张", "Liu": "刘", "Chen": "陈", "Yang": "杨",
        "Huang": "黄", "Zhao": "赵", "Wu": "吴", "Zhou": "周", "Xu": "徐", "Sun": "孙",
        "Ma": "马", "Zhu": "朱", "Hu": "胡", "Guo": "郭", "He": "何", "Lin": "林", "Gao": "高",
        "Luo": "罗", "Tan": "陈", "Lim": "林", "Lee": "李", "Ng": "黄", "Ong": "王", "Wong": "黄",
        "Goh": "吴", "Chua": "蔡", "Koh": "许", "Teo": "张", "Ang": "洪", "Yeo": "杨",
        "Tay": "郑", "Ho": "何", "Low": "刘", "Teoh": "张", "Chong": "张",
        "Wei": "伟", "Hao": "浩", "Lei": "磊", "Tao": "涛", "Junjie": "俊杰", "Haoran": "浩然",
        "Yuxuan": "宇轩", "Zihao": "子豪", "Jianguo": "建国", "Zhiqiang": "志强", "Jing": "静",
        "Min": "敏", "Yan": "燕", "Meiling": "美玲", "Jiahui": "佳慧", "Zihan": "子涵",
        "Yiting": "怡婷", "Xiaoyu": "晓雨", "Shuang": "爽", "Xinyi": "欣怡",
        "Wei Jie": "伟杰", "Jun Hao": "俊豪", "Kah Wai": "家伟", "Mei Ling": "美玲",
        "Hui Min": "慧敏", "Siew Lan": "秀兰", "Jun Wei": "俊伟", "Wei Ming": "伟明",
        "Zhi Hao": "志豪", "Jia Hui": "佳慧", "Hui Ling": "慧玲", "Xin Yi": "欣怡",
        "Li Ting": "丽婷", "Jia Min": "佳敏",
    },
    "taiwan": {
        "Chen": "陳", "Lin": "林", "Huang": "黃", "Chang": "張", "Lee": "李", "Wang": "王",
        "Wu": "吳", "Liu": "劉", "Tsai": "蔡", "Yang": "楊", "Chia-Hao": "家豪",
        "Chih-Wei": "志偉", "Po-Yu": "柏宇", "Chun-Ming": "俊銘", "Yu-Hsiang": "宇翔",
        "Tsung-Han": "宗翰", "Wei-Lun": "威倫", "Kuan-Ting": "冠廷", "Yi-Chen": "怡蓁",
        "Shu-Fen": "淑芬", "Hsin-Yi": "欣怡", "Ya-Ting": "雅婷", "Pei-Shan": "佩珊",
        "Hui-Ju": "惠如", "Mei-Hua": "美華", "Wan-Ting": "婉婷",
    },
    "cantonese": {
        "Chan": "陳", "Wong": "黃", "Lee": "李", "Cheung": "張", "Lau": "劉", "Leung": "梁",
        "Ho": "何", "Ng": "吳", "Lam": "林", "Tang": "鄧", "Yeung": "楊", "Fung": "馮",
        "Tsang": "曾", "Choi": "蔡", "Kwok": "郭", "Chow": "周", "Mak": "麥", "Yip": "葉",
        "Ka Wai": "嘉偉", "Chi Ming": "志明", "Ho Yin": "浩賢", "Kwok Keung": "國強",
        "Chun Hei": "俊熙", "Wing Kin": "永健", "Man Hon": "文瀚", "Tsz Chun": "梓浚",
        "Wing Yan": "詠欣", "Siu Ling": "小玲", "Mei Kuen": "美娟", "Hoi Ting": "凱婷",
        "Tsz Ching": "芷晴", "Ka Yan": "嘉欣", "Sze Wan": "思韻", "Hiu Tung": "曉彤",
    },
}
_CANTONESE_FAMILY = _w("Chan,Wong,Lee,Cheung,Lau,Leung,Ho,Ng,Lam,Tang,Yeung,Fung,Tsang,Choi,"
                       "Kwok,Chow,Mak,Yip")
_CANTONESE_MALE = _w("Ka Wai,Chi Ming,Ho Yin,Kwok Keung,Chun Hei,Wing Kin,Man Hon,Tsz Chun")
_CANTONESE_FEMALE = _w("Wing Yan,Siu Ling,Mei Kuen,Hoi Ting,Tsz Ching,Ka Yan,Sze Wan,Hiu Tung")
# Second-generation applicants abroad often carry an English name before the Chinese one.
_ENGLISH_MALE = _w("Ryan,Kevin,Jason,Eric,Brian,Andrew,Calvin,Derek,Marcus,Nathan")
_ENGLISH_FEMALE = _w("Michelle,Jennifer,Karen,Vivian,Natalie,Stephanie,Joyce,Tiffany,Ivy")
# Countries where the ASSG's "emigrated overseas" families most often settled.
_ASSG_NATIONS = ("CA", "AU", "GB", "US", "NZ", "SG")
_HKID_PREFIXES = _w("A,B,C,D,E,G,H,K,M,P,R,V,Y,Z,XA,XB,XC")
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DIGITS = "0123456789"

# Weights for who applies: heaviest from the Mainland, then a long, realistic tail.
_NATION_WEIGHTS: dict[str, int] = {
    "CN": 300, "IN": 80, "US": 55, "GB": 55, "AU": 35, "CA": 40, "MY": 40, "SG": 30, "PH": 40,
    "KR": 30, "JP": 30, "TW": 30, "FR": 20, "DE": 20, "IT": 12, "ES": 10, "NL": 8, "SE": 5,
    "IE": 6, "NZ": 8, "PL": 5, "UA": 5, "BR": 8, "MX": 5, "AR": 3, "PK": 12, "BD": 6, "LK": 5,
    "NP": 5, "ID": 12, "TH": 10, "VN": 10, "LA": 2, "NG": 6, "KE": 4, "ZA": 6, "EG": 4,
    "TR": 5, "IL": 4,
}


@dataclass(frozen=True, slots=True)
class Person:
    family_name: str
    given_names: str
    chinese_name: str | None
    date_of_birth: date
    nationality: str
    passport_number: str
    hkid: str | None


def _pattern(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice(_LETTERS) if ch == "A" else rng.choice(_DIGITS) if ch == "9"
                   else ch for ch in pattern)


def make_hkid(rng: random.Random) -> str:
    """A random HKID with a valid check digit, in the canonical 'A123456(3)' form."""
    prefix = rng.choice(_HKID_PREFIXES)
    digits = f"{rng.randrange(1_000_000):06d}"
    return f"{prefix}{digits}({hkid_check_digit(prefix, digits)})"


def _dob(rng: random.Random, on: date, age: int) -> date:
    """A date of birth that makes someone ``age`` or ``age - 1`` on ``on`` (never older)."""
    return date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))


def make_person(rng: random.Random, nationality: str, *, on: date, age: int,
                female: bool | None = None, family_name: str | None = None,
                cantonese: bool = False, hkid_share: float = 0.1) -> Person:
    """A plausible person of ``nationality`` aged ``age`` (or one less) on ``on``.

    ``cantonese`` gives a Hong Kong family name, an English plus a Cantonese given name and
    the Chinese name in traditional characters (second-generation applicants and their kin).
    """
    nation = NATIONS[nationality]
    female = rng.random() < 0.45 if female is None else female
    if cantonese:
        family = family_name or rng.choice(_CANTONESE_FAMILY)
        chinese_given = rng.choice(_CANTONESE_FEMALE if female else _CANTONESE_MALE)
        english = rng.choice(_ENGLISH_FEMALE if female else _ENGLISH_MALE)
        given = f"{english} {chinese_given}"
        table = _HANZI["cantonese"]
        chinese = table[family] + table[chinese_given] if family in table else None
    else:
        family = family_name or rng.choice(nation.family)
        given = rng.choice(nation.female if female else nation.male)
        if nation.chinese is None and rng.random() < 0.2:
            given = f"{given} {rng.choice(nation.female if female else nation.male)}"
            if given.split(" ")[0] == given.split(" ")[-1]:
                given = given.split(" ")[0]
        chinese = None
        table = _HANZI.get(nation.chinese or "", {})
        if family in table and given in table:
            chinese = table[family] + table[given]
    return Person(
        family_name=family, given_names=given, chinese_name=chinese,
        date_of_birth=_dob(rng, on, age), nationality=nationality,
        passport_number=_pattern(rng, nation.passport),
        hkid=make_hkid(rng) if rng.random() < hkid_share else None)


@cache
def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if ch.isascii() and (ch.isalnum() or ch == " "))
    return kept.lower().replace(" ", "")


def _email(person: Person, n: int, domain: str) -> str:
    return (f"{_ascii(person.given_names.split(' ')[0])}.{_ascii(person.family_name)}{n}"
            f"@{domain}")


def _phone(rng: random.Random, nationality: str) -> str:
    if rng.random() < 0.5:  # a Hong Kong mobile number
        return f"+852 {rng.choice('569')}{rng.randrange(1000):03d} {rng.randrange(10000):04d}"
    return f"{NATIONS[nationality].phone} {rng.randrange(10**8, 10**9)}"


def _nationality(rng: random.Random) -> str:
    return rng.choices(_NATIONS_LIST, cum_weights=_NATIONS_CUM)[0]


_NATIONS_LIST = list(_NATION_WEIGHTS)
_NATIONS_CUM = list(accumulate(_NATION_WEIGHTS.values()))


# --- Scheme facts and reasons ----------------------------------------------------------------

BUSINESS_PLANS = (
    "Seed-stage fintech start-up reconciling cross-border payments for SMEs in the Greater Bay "
    "Area. HKD 3.2 million raised; five local hires planned in year one.",
    "Specialty coffee roastery and wholesale supplier to hotels and cafés; lease signed in "
    "Kwun Tong; HKD 1.8 million of own capital invested.",
    "Medical-device company developing a low-cost wearable ECG monitor; prototype tested "
    "with a university hospital; Series A under negotiation.",
    "Architecture and interior design studio focusing on adaptive re-use of industrial "
    "buildings; three signed contracts worth HKD 4.5 million.",
    "B2B software company offering AI-assisted trade-document checking for freight "
    "forwarders; pilot customers at Kwai Tsing container terminals.",
    "Biotech start-up producing plant-based cultured seafood; laboratory space at the "
    "Science Park; grant from the Innovation and Technology Fund applied for.",
    "Boutique wealth-technology platform for family offices; licensed adviser partners; "
    "projected turnover HKD 12 million in year three.",
    "Sustainable packaging manufacturer replacing polystyrene food boxes with bagasse; "
    "supply agreements with two restaurant chains.",
    "Edtech company delivering bilingual STEM courses to secondary schools; 14 schools "
    "enrolled in the pilot year.",
    "Cyber-security consultancy providing penetration testing for virtual banks; two "
    "founders with 15 years' experience each.",
)

EMPLOYERS = (
    ("Harbourfront Securities Limited", "Quantitative Analyst"),
    ("Pearl River Biotech (Hong Kong) Limited", "Senior Research Scientist"),
    ("Victoria Peak Analytics Limited", "Lead Data Engineer"),
    ("Lantau Engineering Consultants Limited", "Chartered Structural Engineer"),
    ("Kowloon Bay Logistics Limited", "Head of Supply Chain Optimisation"),
    ("Tai Koo Reinsurance Company Limited", "Actuarial Manager"),
    ("Island East Medical Group", "Consultant Anaesthetist"),
    ("Sai Kung Marine Technologies Limited", "Naval Architect"),
    ("Central Arbitration Chambers", "Senior Associate, International Arbitration"),
    ("Cyber Harbour Labs Limited", "Principal Security Researcher"),
    ("Causeway Capital Management Limited", "Portfolio Manager, Asian Credit"),
    ("Tsing Yi Semiconductor Limited", "Chip Design Engineer"),
    ("Hong Kong Institute of Advanced Materials", "Postdoctoral Fellow"),
    ("Wan Chai Creative Agency Limited", "Creative Director"),
    ("Shek O Hospitality Group", "Executive Chef"),
    ("Star Ferry Fintech Limited", "Blockchain Engineer"),
)

JOB_RELEVANCE = (
    "PhD in the field and six years of post-doctoral work directly on this subject.",
    "Master's degree in the discipline and eight years of relevant experience at a listed "
    "company.",
    "Chartered professional with ten years in the same role in London and Singapore.",
    "Bachelor's degree with first-class honours and five years' specialist experience.",
    "Published author of industry standards in the area; led a team of twelve.",
)

LOCAL_UNAVAILABILITY = (
    "Advertised locally for three months (JobsDB, LinkedIn, university career offices); "
    "no suitable candidate among 41 applicants.",
    "Requires native-level Japanese and a regulatory licence held by very few local "
    "practitioners; search firm retained for four months.",
    "Niche technical skill set; the employer's local recruitment campaign and two "
    "headhunters found no qualified candidate.",
    "Position requires prior experience with a proprietary system only used overseas.",
)

REFUSAL_REASONS = (
    "The applicant did not reach the minimum score under the General Points Test.",
    "The business plan did not show how the business would contribute substantially to "
    "the economy of Hong Kong.",
    "The remuneration package is not broadly commensurate with the market level for the "
    "post in Hong Kong.",
    "The applicant's academic qualifications could not be verified with the awarding "
    "institution.",
    "The applicant did not provide the further documents requested within the deadline, "
    "despite two reminders.",
    "The evidence of the parent's status as a Chinese Hong Kong permanent resident was "
    "insufficient.",
)

WITHDRAWAL_REASONS = (
    "The applicant accepted a job offer in Singapore and asked to withdraw by email.",
    "Family circumstances changed; the applicant withdrew in writing.",
    "The employer rescinded the job offer; the applicant withdrew the application.",
    "The applicant decided to remain with the current employer overseas.",
    "Duplicate application: the applicant re-applied under a different scheme.",
)

CLOSE_REASONS = (
    "The applicant left Hong Kong permanently and surrendered the visa.",
    "The applicant relocated overseas with the employer; visa cancelled at the "
    "applicant's request.",
    "The applicant changed to an employment visa under another scheme; this case is closed.",
)

EXTENSION_REFUSAL_REASONS = (
    "No evidence of employment or business activity in Hong Kong during the stay.",
    "The business has not traded since incorporation; the extension is refused and the "
    "current stay runs to its end.",
)


def scheme_facts(rng: random.Random, scheme: Scheme, received: date, *,
                 programme_share: float = 0.6) -> services.CaseFacts:
    """The facts an application under ``scheme`` needs to be eligible on ``received``."""
    values: dict = {"submitted_on": received}
    if scheme == Scheme.GEP_ENT:
        values["business_plan"] = rng.choice(BUSINESS_PLANS)
        if rng.random() < programme_share:
            values["programme"] = rng.choice(list(GovernmentProgramme))
    elif scheme == Scheme.GEP_PRO:
        employer, post = rng.choice(EMPLOYERS)
        values |= {"job_employer": employer, "job_post": post,
                   "job_salary": Decimal(rng.randrange(35, 160) * 1000),
                   "job_relevance": rng.choice(JOB_RELEVANCE),
                   "job_local_unavailability": rng.choice(LOCAL_UNAVAILABILITY)}
    elif scheme == Scheme.ASSG:
        values |= {"has_hk_parent": True, "emigrated_overseas": True}
    return services.CaseFacts(**values)


# --- The curated demo set --------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One demo case: its scheme, where it ends up and by which road."""

    scheme: Scheme
    final: CaseStatus
    via: str | None = None  # e.g. "quota", "submitted", "approved", "in_stay", "ext_refused"
    unassigned: bool = False
    nationality: str | None = None
    age: int | None = None  # on the received date; None = a typical age for the scheme


def _scenarios() -> tuple[Scenario, ...]:
    q, ent, pro, assg = Scheme.QMAS, Scheme.GEP_ENT, Scheme.GEP_PRO, Scheme.ASSG
    sc = Scenario
    return (
        # QMAS (22): the quota queue, the whole road and its exits.
        sc(q, S.DRAFT), sc(q, S.DRAFT, nationality="CN"),
        sc(q, S.SUBMITTED), sc(q, S.SUBMITTED, unassigned=True),
        sc(q, S.UNDER_REVIEW), sc(q, S.UNDER_REVIEW, nationality="IN"),
        sc(q, S.AWAITING_QUOTA), sc(q, S.AWAITING_QUOTA, nationality="CN"),
        sc(q, S.AWAITING_QUOTA, unassigned=True),
        sc(q, S.APPROVED), sc(q, S.APPROVED, via="quota"),
        sc(q, S.VISA_ISSUED),
        sc(q, S.IN_STAY), sc(q, S.IN_STAY, nationality="CN"),
        sc(q, S.EXTENSION_REQUESTED),
        sc(q, S.EXTENDED), sc(q, S.EXTENDED, nationality="GB"),
        sc(q, S.REFUSED), sc(q, S.REFUSED, via="awaiting_quota"),
        sc(q, S.WITHDRAWN, via="approved"),
        sc(q, S.LAPSED, via="approved"),
        sc(q, S.CLOSED),
        # GEP (Professionals) (15)
        sc(pro, S.DRAFT),
        sc(pro, S.SUBMITTED), sc(pro, S.SUBMITTED, unassigned=True),
        sc(pro, S.UNDER_REVIEW), sc(pro, S.UNDER_REVIEW, nationality="US"),
        sc(pro, S.APPROVED), sc(pro, S.VISA_ISSUED),
        sc(pro, S.IN_STAY), sc(pro, S.IN_STAY, nationality="FR"),
        sc(pro, S.EXTENSION_REQUESTED), sc(pro, S.EXTENDED),
        sc(pro, S.REFUSED), sc(pro, S.WITHDRAWN, via="submitted"),
        sc(pro, S.LAPSED, via="in_stay"), sc(pro, S.CLOSED),
        # GEP (Entrepreneurs) (12): one Vietnamese national who cannot be submitted.
        sc(ent, S.DRAFT, via="blocked", nationality="VN"), sc(ent, S.DRAFT),
        sc(ent, S.SUBMITTED),
        sc(ent, S.UNDER_REVIEW), sc(ent, S.UNDER_REVIEW, unassigned=True),
        sc(ent, S.APPROVED), sc(ent, S.VISA_ISSUED),
        sc(ent, S.IN_STAY, via="ext_refused"), sc(ent, S.EXTENDED),
        sc(ent, S.REFUSED, via="submitted"), sc(ent, S.WITHDRAWN, via="draft"),
        sc(ent, S.LAPSED, via="approved"),
        # ASSG (11): one applicant already 41, who stays a draft with the reason shown.
        sc(assg, S.DRAFT, via="blocked", age=41), sc(assg, S.SUBMITTED, unassigned=True),
        sc(assg, S.UNDER_REVIEW), sc(assg, S.APPROVED), sc(assg, S.IN_STAY),
        sc(assg, S.EXTENSION_REQUESTED), sc(assg, S.EXTENDED),
        sc(assg, S.REFUSED), sc(assg, S.WITHDRAWN, via="submitted"),
        sc(assg, S.CLOSED), sc(assg, S.LAPSED, via="in_stay"),
    )


SCENARIOS = _scenarios()


def _approval_road(sc: Scenario) -> list[str]:
    hold = ["hold_for_quota"] if sc.via == "quota" else []
    return ["submit", "start_review", *hold, "approve"]


def _arrival_road(sc: Scenario) -> list[str]:
    return [*_approval_road(sc), "issue_visa", "record_arrival"]


def steps_for(sc: Scenario) -> list[str]:
    """The named transitions that take a new draft to ``sc.final`` by ``sc.via``."""
    final, via = sc.final, sc.via
    if final == S.DRAFT:
        return ["submit"] if via == "blocked" else []  # the blocked submit is expected to fail
    if final == S.SUBMITTED:
        return ["submit"]
    if final == S.UNDER_REVIEW:
        return ["submit", "start_review"]
    if final == S.AWAITING_QUOTA:
        return ["submit", "start_review", "hold_for_quota"]
    if final == S.APPROVED:
        return _approval_road(sc)
    if final == S.VISA_ISSUED:
        return [*_approval_road(sc), "issue_visa"]
    if final == S.IN_STAY:
        extra = ["request_extension", "refuse_extension"] if via == "ext_refused" else []
        return [*_arrival_road(sc), *extra]
    if final == S.EXTENSION_REQUESTED:
        return [*_arrival_road(sc), "request_extension"]
    if final == S.EXTENDED:
        return [*_arrival_road(sc), "request_extension", "grant_extension"]
    if final == S.REFUSED:
        if via == "submitted":
            return ["submit", "refuse"]
        if via == "awaiting_quota":
            return ["submit", "start_review", "hold_for_quota", "refuse"]
        return ["submit", "start_review", "refuse"]
    if final == S.WITHDRAWN:
        road = {"draft": [], "submitted": ["submit"], "approved": _approval_road(sc)}
        return [*road.get(via or "submitted", ["submit"]), "withdraw"]
    if final == S.LAPSED:
        return [*(_approval_road(sc) if via == "approved" else _arrival_road(sc)), "lapse"]
    if final == S.CLOSED:
        return [*_arrival_road(sc), "close"]
    raise ValueError(f"no demo road to {final}")


# Days from the previous step to this one.
_GAPS: dict[str, tuple[int, int]] = {
    "submit": (1, 6), "start_review": (3, 21), "hold_for_quota": (10, 40), "approve": (20, 70),
    "issue_visa": (5, 20), "record_arrival": (14, 80), "grant_extension": (14, 40),
    "refuse_extension": (5, 12), "refuse": (15, 60), "withdraw": (5, 60), "close": (60, 300),
}
# Days between the last step and today, by final status: open cases look current.
_SLACK: dict[CaseStatus, tuple[int, int]] = {
    S.DRAFT: (0, 8), S.SUBMITTED: (1, 10), S.UNDER_REVIEW: (1, 30), S.AWAITING_QUOTA: (5, 60),
    S.APPROVED: (1, 20), S.VISA_ISSUED: (1, 30), S.IN_STAY: (10, 250),
    S.EXTENSION_REQUESTED: (1, 10), S.EXTENDED: (10, 300), S.REFUSED: (10, 700),
    S.WITHDRAWN: (10, 700), S.LAPSED: (10, 500), S.CLOSED: (10, 500),
}
_TYPICAL_AGE: dict[Scheme, tuple[int, int]] = {
    Scheme.QMAS: (24, 50), Scheme.GEP_PRO: (26, 55), Scheme.GEP_ENT: (27, 58),
    Scheme.ASSG: (20, 38),
}


def plan_days(rng: random.Random, sc: Scenario, policy: SchemePolicy) -> tuple[int, list[int]]:
    """Day offsets (from the received date) of each step, and the whole span up to today.

    Stay steps are timed from the policy: an extension is requested inside the window before
    the stay ends, a stay lapses just after it ends. Month lengths are approximated by
    30.4 days, so every margin below is a few days wide.
    """
    day = rng.randint(0, 2)  # created a day or two after the application arrived
    offsets = []
    stay_end: int | None = None
    for name in steps_for(sc):
        if name == "request_extension" and stay_end is not None:
            window = policy.extension_window_days
            early = sc.via == "ext_refused"  # early in the window: refused before the end
            day = stay_end - (rng.randint(window - 6, window - 3) if early
                              else rng.randint(12, 24))
        elif name == "lapse" and stay_end is not None:
            day = stay_end + rng.randint(4, 8)  # the stay ran out without an extension
        elif name == "lapse":
            day += rng.randint(190, 220)  # the approval was not taken up in time
        else:
            low, high = _GAPS[name]
            day += rng.randint(low, high)
        if name == "record_arrival":
            stay_end = day + int(policy.initial_stay_months * 30.4)
        elif name == "grant_extension" and stay_end is not None:
            stay_end += int(policy.extension_months * 30.4)
        offsets.append(day)
    low, high = _SLACK[sc.final]
    if sc.final in (S.IN_STAY, S.EXTENSION_REQUESTED) and stay_end is not None:
        high = max(low, min(high, stay_end - day - 5))  # the stay has not ended yet
    return day + rng.randint(low, high), offsets


def _moment(day: date, rng: random.Random) -> datetime:
    """A moment during Hong Kong office hours on ``day``, in UTC."""
    local = datetime.combine(day, time(rng.randint(9, 17), rng.randrange(60)), tzinfo=HK_TZ)
    return local.astimezone(UTC)


def _job_offer(rng: random.Random, case: Case) -> stay.JobOfferData:
    employer, post = rng.choice(_JOB_OFFERS)
    return stay.JobOfferData(employer=employer, post=post,
                             salary=Decimal(rng.randrange(30_000, 120_000, 500)),
                             start_date=case.arrived_on + timedelta(days=rng.randint(20, 120)))


_JOB_OFFERS = (("HSBC", "Risk analyst"), ("Cathay Pacific", "Data engineer"),
               ("Hong Kong Science Park tenant", "Biotech researcher"),
               ("Town Gas", "Process engineer"), ("Li & Fung", "Supply chain manager"))


def to_hk_date(at: datetime) -> date:
    return at.astimezone(HK_TZ).date()


def _backdate_latest_event(case: Case, at: datetime) -> None:
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc()).limit(1))
    if event is not None:
        event.at = at


_REASONS: dict[str, tuple[str, ...]] = {
    "refuse": REFUSAL_REASONS, "withdraw": WITHDRAWAL_REASONS, "close": CLOSE_REASONS,
    "refuse_extension": EXTENSION_REFUSAL_REASONS}


def _reason(rng: random.Random, name: str) -> str | None:
    """A reason in words for the steps that need one (and only those)."""
    reasons = _REASONS.get(name)
    return rng.choice(reasons) if reasons else None


@dataclass
class DemoReport:
    created: int = 0
    by_status: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def demo_cases_exist() -> bool:
    return db.session.scalar(
        select(func.count()).select_from(Case).join(Applicant)
        .where(Applicant.email.like(f"%@{DEMO_EMAIL_DOMAIN}"))) > 0


def seed_demo_cases(caseworkers: Sequence[User], supervisor: User, *, seed: int = DEMO_SEED,
                    today: date | None = None) -> DemoReport:
    """Build the curated demo set through the services, unless it already exists.

    ``caseworkers`` share the assigned cases; ``supervisor`` hands a few back to the queue
    (unassigned) and moves a few between caseworkers, as happens in a real office. A step a
    rule refuses is not forced: the case stays where it is and the reason is reported (the
    Vietnamese GEP entrepreneur and the 41-year-old ASSG applicant are meant to show this).
    """
    report = DemoReport()
    if demo_cases_exist():
        return report
    rng = random.Random(seed)  # noqa: S311  (reproducible demo data, not secrets)
    today = today or hk_today()
    for index, sc in enumerate(SCENARIOS):
        case = _build_demo_case(rng, index, sc, caseworkers, supervisor, today, report)
        report.created += 1
        report.by_status[case.status] += 1
    return report


def _applicant_for(rng: random.Random, index: int, sc: Scenario,
                   received: date) -> tuple[Person, services.ApplicantData]:
    low, high = _TYPICAL_AGE[sc.scheme]
    age = sc.age or rng.randint(low, high)
    if sc.scheme == Scheme.ASSG:
        nationality = sc.nationality or rng.choice(_ASSG_NATIONS)
        person = make_person(rng, nationality, on=received, age=age, cantonese=True,
                             hkid_share=0.5)
        if sc.age and sc.age > 40:  # 41 or 42 on the received date, whatever the day
            person = _replace_dob(person, date(received.year - 42, 6, 15))
    else:
        nationality = sc.nationality or _nationality(rng)
        while sc.scheme == Scheme.GEP_ENT and sc.nationality is None and nationality in (
                "VN", "LA"):
            nationality = _nationality(rng)
        person = make_person(rng, nationality, on=received, age=age, hkid_share=0.15)
    data = services.ApplicantData(
        family_name=person.family_name, given_names=person.given_names,
        chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
        nationality=person.nationality, passport_number=person.passport_number,
        hkid=person.hkid, email=_email(person, index + 1, DEMO_EMAIL_DOMAIN),
        phone=_phone(rng, person.nationality), email_consent=rng.random() < 0.7)
    return person, data


def _replace_dob(person: Person, dob: date) -> Person:
    return Person(person.family_name, person.given_names, person.chinese_name, dob,
                  person.nationality, person.passport_number, person.hkid)


def _identity(person: Person) -> services.IdentityData:
    return services.IdentityData(
        family_name=person.family_name, given_names=person.given_names,
        chinese_name=person.chinese_name, date_of_birth=person.date_of_birth,
        nationality=person.nationality, passport_number=person.passport_number,
        hkid=person.hkid)


def _family(rng: random.Random, sc: Scenario, principal: Person,
            received: date) -> list[tuple[Relationship, Person]]:
    """A spouse and children for some principals; children are under 18 on ``received``."""
    family: list[tuple[Relationship, Person]] = []
    age = received.year - principal.date_of_birth.year
    chance = {Scheme.QMAS: 0.55, Scheme.GEP_PRO: 0.45, Scheme.GEP_ENT: 0.4,
              Scheme.ASSG: 0.3}[sc.scheme]
    if age < 25 or rng.random() > chance:
        return family
    cantonese = sc.scheme == Scheme.ASSG
    same = rng.random() < 0.8
    spouse_nat = principal.nationality if same else _nationality(rng)
    spouse = make_person(rng, spouse_nat, on=received, age=max(22, age + rng.randint(-5, 4)),
                         cantonese=cantonese and same, hkid_share=0.1)
    family.append((Relationship.SPOUSE, spouse))
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3)) if age >= 29 else 0):
        child = make_person(rng, principal.nationality, on=received,
                            age=rng.randint(1, min(16, age - 23)),
                            family_name=principal.family_name,
                            cantonese=cantonese, hkid_share=0.05)
        family.append((Relationship.CHILD, child))
    return family


def _build_demo_case(rng: random.Random, index: int, sc: Scenario, caseworkers: Sequence[User],
                     supervisor: User, today: date, report: DemoReport) -> Case:
    policy = policy_for(sc.scheme, today)
    span, offsets = plan_days(rng, sc, policy)
    received = today - timedelta(days=span)
    created_day = received + timedelta(days=rng.randint(0, 2))
    if offsets:
        created_day = min(created_day, received + timedelta(days=offsets[0]))
    person, applicant = _applicant_for(rng, index, sc, received)
    facts = scheme_facts(rng, sc.scheme, received)
    worker = caseworkers[index % len(caseworkers)]
    case = services.create_case(worker, sc.scheme, applicant, facts, today=created_day)
    created_at = _moment(created_day, rng)
    case.created_at = created_at
    _backdate_latest_event(case, created_at)
    for relation, relative in _family(rng, sc, person, received):
        dependant = services.add_dependant(worker, case, relation, _identity(relative),
                                           married=False if relation == Relationship.CHILD
                                           else None,
                                           expected_version=case.version, today=created_day)
        dependant.added_at = created_at
        _backdate_latest_event(case, created_at)
    actor = worker
    moved = index % 9 == 4 and len(caseworkers) > 1  # handed to a colleague after submission
    last_at = created_at
    for name, offset in zip(steps_for(sc), offsets, strict=True):
        at = max(_moment(received + timedelta(days=offset), rng), last_at + timedelta(minutes=5))
        try:
            with db.session.begin_nested():
                extra = {"arrived_on": to_hk_date(at)} if name == "record_arrival" else {}
                if name == "request_extension" and case.job_offer_needed_to_extend \
                        and not case.has_job_offer:
                    stay.record_job_offer(actor, case, _job_offer(rng, case), now=at)
                event = services.transition(case, name, actor, reason=_reason(rng, name),
                                            now=at, **extra)
                event.at = at
        except services.CaseError as exc:
            report.notes.append(f"{case.reference} ({sc.scheme.short_label}) stays "
                                f"{case.status.label.lower()}: {exc}")
            break
        last_at = at
        if name == "submit" and moved:
            actor = caseworkers[(index + 1) % len(caseworkers)]
            services.reassign(supervisor, [case], actor)
            _backdate_latest_event(case, at + timedelta(hours=2))
    if sc.unassigned:
        services.reassign(supervisor, [case], None)
        _backdate_latest_event(case, last_at + timedelta(hours=3))
    db.session.flush()
    return case


# --- Bulk loading for benchmarks -------------------------------------------------------------

APPLICANT_COLUMNS = (
    "id", "email", "phone", "email_consent", "name_search", "created_at", "family_name",
    "given_names", "chinese_name", "date_of_birth", "nationality", "passport_number", "hkid")
CASE_COLUMNS = (
    "id", "reference", "scheme", "status", "applicant_id", "assignee_id", "created_by_id",
    "submitted_on", "policy_version", "favourable_consideration", "business_plan",
    "programme", "job_employer", "job_post", "job_salary", "job_relevance",
    "job_local_unavailability", "has_hk_parent", "emigrated_overseas", "submitted_at",
    "review_started_at", "approved_on", "visa_issued_on", "refused_at", "withdrawn_at",
    "ended_at", "created_at", "updated_at", "version")
EVENT_COLUMNS = ("case_id", "at", "actor_id", "kind", "transition", "from_status",
                 "to_status", "reason", "detail")
DEPENDANT_COLUMNS = (
    "case_id", "relation", "married", "added_at", "added_by_id", "family_name",
    "given_names", "chinese_name", "date_of_birth", "nationality", "passport_number", "hkid")
# Stay dates, filled when the schema has them (required for in-stay statuses).
_STAY_COLUMNS = ("arrived_on", "stay_ends_on")


def case_columns() -> tuple[str, ...]:
    present = Case.__table__.c
    return CASE_COLUMNS + tuple(c for c in _STAY_COLUMNS if c in present)

_SCHEMES = (Scheme.QMAS, Scheme.GEP_PRO, Scheme.GEP_ENT, Scheme.ASSG)
_SCHEME_CUM = (50, 80, 90, 100)  # QMAS-heavy: half of all applications

# Status mix by how long ago the application was received (days).
_STATUS_MIX: tuple[tuple[int, tuple[tuple[CaseStatus, int], ...]], ...] = (
    (21, ((S.DRAFT, 30), (S.SUBMITTED, 45), (S.UNDER_REVIEW, 20), (S.WITHDRAWN, 3),
          (S.REFUSED, 2))),
    (90, ((S.DRAFT, 4), (S.SUBMITTED, 10), (S.UNDER_REVIEW, 40), (S.AWAITING_QUOTA, 12),
          (S.APPROVED, 14), (S.VISA_ISSUED, 6), (S.REFUSED, 8), (S.WITHDRAWN, 6))),
    (365, ((S.UNDER_REVIEW, 6), (S.AWAITING_QUOTA, 6), (S.APPROVED, 6), (S.VISA_ISSUED, 10),
           (S.IN_STAY, 40), (S.REFUSED, 14), (S.WITHDRAWN, 8), (S.LAPSED, 6), (S.CLOSED, 4))),
    (10**6, ((S.IN_STAY, 20), (S.EXTENSION_REQUESTED, 5), (S.EXTENDED, 30), (S.REFUSED, 15),
             (S.WITHDRAWN, 8), (S.LAPSED, 12), (S.CLOSED, 10))),
)
_MIX = tuple((limit, tuple(s for s, _ in mix),
              tuple(sum(w for _, w in mix[:i + 1]) for i in range(len(mix))))
             for limit, mix in _STATUS_MIX)

# The last step that brought a case to its status (for the one transition event per case).
_LAST_STEP: dict[CaseStatus, tuple[str, CaseStatus]] = {
    S.SUBMITTED: ("submit", S.DRAFT), S.UNDER_REVIEW: ("start_review", S.SUBMITTED),
    S.AWAITING_QUOTA: ("hold_for_quota", S.UNDER_REVIEW),
    S.APPROVED: ("approve", S.UNDER_REVIEW), S.VISA_ISSUED: ("issue_visa", S.APPROVED),
    S.IN_STAY: ("record_arrival", S.VISA_ISSUED),
    S.EXTENSION_REQUESTED: ("request_extension", S.IN_STAY),
    S.EXTENDED: ("grant_extension", S.EXTENSION_REQUESTED),
    S.REFUSED: ("refuse", S.UNDER_REVIEW), S.WITHDRAWN: ("withdraw", S.SUBMITTED),
    S.LAPSED: ("lapse", S.VISA_ISSUED), S.CLOSED: ("close", S.IN_STAY),
}
_REVIEWED = {S.UNDER_REVIEW, S.AWAITING_QUOTA, S.APPROVED, S.VISA_ISSUED, S.IN_STAY,
             S.EXTENSION_REQUESTED, S.EXTENDED, S.REFUSED, S.LAPSED, S.CLOSED}
_APPROVED = {S.APPROVED, S.VISA_ISSUED, S.IN_STAY, S.EXTENSION_REQUESTED, S.EXTENDED,
             S.LAPSED, S.CLOSED}
_VISA = {S.VISA_ISSUED, S.IN_STAY, S.EXTENSION_REQUESTED, S.EXTENDED, S.LAPSED, S.CLOSED}
_ENDED = {S.REFUSED, S.WITHDRAWN, S.LAPSED, S.CLOSED}
_ARRIVED = {S.IN_STAY, S.EXTENSION_REQUESTED, S.EXTENDED, S.CLOSED}
_BULK_SPAN_DAYS = 5 * 365


@dataclass
class BulkResult:
    cases: int = 0
    applicants: int = 0
    events: int = 0
    dependants: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.cases + self.applicants + self.events + self.dependants

    def add(self, applicants: int, cases: int, events: int, dependants: int) -> None:
        self.applicants += applicants
        self.cases += cases
        self.events += events
        self.dependants += dependants

    def progress(self, n: int, started: float) -> str:
        elapsed = clock.perf_counter() - started
        return (f"{self.cases:,}/{n:,} cases ({self.rows:,} rows) in {elapsed:,.1f} s, "
                f"{self.cases / elapsed:,.0f} cases/s")


_NULL = "\\N"  # COPY's text-format NULL


def _compile_pattern(pattern: str) -> tuple[tuple[str, int | str], ...]:
    """Split a passport pattern into runs ('A', n), ('9', n) or ('=', literal)."""
    runs: list[tuple[str, int | str]] = []
    for ch in pattern:
        kind = ch if ch in "A9" else "="
        if runs and runs[-1][0] == kind and kind != "=":
            runs[-1] = (kind, runs[-1][1] + 1)  # type: ignore[operator]
        else:
            runs.append((kind, 1 if kind != "=" else ch))
    return tuple(runs)


class _BulkGenerator:
    """Makes the rows of one chunk as COPY text fields (``str``, ``_NULL`` for NULL).

    Speed matters here (a million cases): ``rng.random()`` is the only random call (the
    ``randint``/``choice`` helpers cost several times more), dates are ISO strings cached per
    day, and the case's reference is left as ``None`` for the caller to fill in once the
    chunk's reference numbers are reserved.
    """

    def __init__(self, rng: random.Random, today: date, workers: Sequence[int]) -> None:
        self.r = rng.random
        self.today = today.toordinal()
        self.workers = [str(w) for w in workers]
        self._policies: dict[tuple[Scheme, int], SchemePolicy] = {}
        self._iso: dict[int, str] = {}
        self.programmes = list(GovernmentProgramme)
        self.patterns = {code: _compile_pattern(n.passport) for code, n in NATIONS.items()}
        self.width = len(case_columns())

    def policy(self, scheme: Scheme, ordinal: int) -> SchemePolicy:
        key = (scheme, ordinal)
        found = self._policies.get(key)
        if found is None:
            found = self._policies[key] = policy_for(scheme, date.fromordinal(ordinal))
        return found

    def iso(self, ordinal: int) -> str:
        found = self._iso.get(ordinal)
        if found is None:
            found = self._iso[ordinal] = date.fromordinal(ordinal).isoformat()
        return found

    def stamp(self, ordinal: int) -> str:
        """A UTC instant in Hong Kong office hours (09:00-17:00 HK = 01:00-09:00 UTC)."""
        s = int(self.r() * 28_800)
        return f"{self.iso(ordinal)} {1 + s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00"

    def pick(self, seq):
        return seq[int(self.r() * len(seq))]

    def between(self, low: int, high: int) -> int:
        return low + int(self.r() * (high - low + 1))

    def passport(self, nationality: str) -> str:
        r = self.r
        out = []
        for kind, n in self.patterns[nationality]:
            if kind == "9":
                out.append(f"{int(r() * 10 ** n):0{n}d}")
            elif kind == "A":
                out.append("".join(_LETTERS[int(r() * len(_LETTERS))] for _ in range(n)))
            else:
                out.append(n)  # type: ignore[arg-type]
        return "".join(out)

    def hkid(self) -> str:
        prefix = self.pick(_HKID_PREFIXES)
        digits = f"{int(self.r() * 1_000_000):06d}"
        return f"{prefix}{digits}({hkid_check_digit(prefix, digits)})"

    def person(self, nationality: str, received: int, age: int, *, cantonese: bool = False,
               family: str | None = None, hkid_share: float = 0.0) -> tuple[str, ...]:
        """(family, given, chinese, dob, nationality, passport, hkid), age or age-1 on
        ``received``."""
        r, pick = self.r, self.pick
        nation = NATIONS[nationality]
        female = r() < 0.45
        if cantonese:
            family = family or pick(_CANTONESE_FAMILY)
            chinese_given = pick(_CANTONESE_FEMALE if female else _CANTONESE_MALE)
            given = f"{pick(_ENGLISH_FEMALE if female else _ENGLISH_MALE)} {chinese_given}"
            table = _HANZI["cantonese"]
            chinese = table[family] + table[chinese_given] if family in table else None
        else:
            family = family or pick(nation.family)
            given = pick(nation.female if female else nation.male)
            chinese = None
            if nation.chinese:
                table = _HANZI[nation.chinese]
                if family in table and given in table:
                    chinese = table[family] + table[given]
            elif r() < 0.2:
                second = pick(nation.female if female else nation.male)
                if second != given:
                    given = f"{given} {second}"
        year = date.fromordinal(received).year - age
        dob = f"{year:04d}-{1 + int(r() * 12):02d}-{1 + int(r() * 28):02d}"
        hkid = self.hkid() if hkid_share and r() < hkid_share else _NULL
        return (family, given, chinese or _NULL, dob, nationality, self.passport(nationality),
                hkid)

    def chunk(self, applicant_ids: Sequence[int], case_ids: Sequence[int], serial: int):
        r, pick, between, stamp = self.r, self.pick, self.between, self.stamp
        today = self.today
        workers = self.workers
        applicants, cases, events, dependants, keys = [], [], [], [], []
        for applicant_id, case_id in zip(applicant_ids, case_ids, strict=True):
            serial += 1
            scheme = _SCHEMES[bisect(_SCHEME_CUM, r() * _SCHEME_CUM[-1])]
            received = today - int(_BULK_SPAN_DAYS * r() ** 1.3)
            age_days = today - received
            for limit, statuses, cum in _MIX:
                if age_days < limit:
                    status = statuses[bisect(cum, r() * cum[-1])]
                    break
            if status == S.AWAITING_QUOTA and scheme != Scheme.QMAS:
                status = S.UNDER_REVIEW
            policy = self.policy(scheme, received)

            # The applicant, eligible on the received date.
            assg = scheme == Scheme.ASSG
            if assg:
                nationality = pick(_ASSG_NATIONS)
                person = self.person(nationality, received, between(20, 40), cantonese=True,
                                     hkid_share=0.5)
            else:
                nationality = _NATIONS_LIST[bisect(_NATIONS_CUM, r() * _NATIONS_CUM[-1])]
                while status != S.DRAFT and nationality in policy.excluded_nationalities:
                    nationality = _NATIONS_LIST[bisect(_NATIONS_CUM, r() * _NATIONS_CUM[-1])]
                person = self.person(nationality, received, between(23, 56), hkid_share=0.12)
            family, given, chinese = person[0], person[1], person[2]
            created = min(received + int(r() * 3), today)
            created_at = stamp(created)
            if r() < 0.7:
                email = (f"{_ascii(given.split(' ')[0])}.{_ascii(family)}{serial}"
                         f"@{BULK_EMAIL_DOMAIN}")
                consent = "t" if r() < 0.6 else "f"
            else:
                email, consent = _NULL, "f"
            if r() < 0.5:
                phone = f"+852 {pick('569')}{int(r() * 1000):03d} {int(r() * 10000):04d}"
            else:
                phone = f"{NATIONS[nationality].phone} {100_000_000 + int(r() * 899_999_999)}"
            name_search = search_text(family, given, None if chinese == _NULL else chinese)
            applicants.append((str(applicant_id), email, phone, consent, name_search,
                               created_at, *person))

            # The stage dates, in order, never after today.
            day = created
            submitted_at = review_at = approved_on = visa_on = refused_at = _NULL
            withdrawn_at = ended_at = _NULL
            last_at = created_at
            if status != S.DRAFT:
                day = min(day + int(r() * 6), today)
                submitted_at = last_at = stamp(day)
            if (status in _REVIEWED and status != S.REFUSED) or (
                    status == S.REFUSED and r() < 0.8):
                day = min(day + between(3, 25), today)
                review_at = last_at = stamp(day)
            if status in _APPROVED:
                day = min(day + between(20, 80), today)
                approved_on = self.iso(day)
                last_at = stamp(day)
            if status in _VISA:
                day = min(day + between(5, 20), today)
                visa_on = self.iso(day)
                last_at = stamp(day)
            arrived = status in _ARRIVED or (status == S.LAPSED and r() < 0.6)
            arrived_on = stay_ends_on = _NULL
            if arrived:
                day = min(day + between(14, 80), today)
                last_at = stamp(day)
                arrival = date.fromordinal(day)
                months = policy.initial_stay_months + (
                    policy.extension_months if status == S.EXTENDED else 0)
                arrived_on = self.iso(day)
                stay_ends_on = add_months(arrival, months).isoformat()
                if status != S.IN_STAY:
                    day = min(day + between(60, policy.initial_stay_months * 30), today)
                    last_at = stamp(day)
            if status in _ENDED:
                day = min(day + between(5, 60), today)
                ended_at = last_at = stamp(day)
                if status == S.REFUSED:
                    refused_at = ended_at
                elif status == S.WITHDRAWN:
                    withdrawn_at = ended_at

            business_plan = programme = employer = post = salary = _NULL
            relevance = local = _NULL
            favourable = "f"
            if scheme == Scheme.GEP_ENT:
                business_plan = pick(BUSINESS_PLANS)
                if r() < 0.45:
                    chosen = pick(self.programmes)
                    programme = chosen.value
                    if status != S.DRAFT and chosen in policy.favourable_programmes:
                        favourable = "t"
            elif scheme == Scheme.GEP_PRO:
                employer, post = pick(EMPLOYERS)
                salary = str(between(30, 180) * 1000)
                relevance = pick(JOB_RELEVANCE)
                local = pick(LOCAL_UNAVAILABILITY)
            assignee = _NULL if status not in _ENDED and r() < 0.1 else pick(workers)
            creator = pick(workers) if assignee == _NULL else assignee
            flag = "t" if assg else "f"
            keys.append((scheme, date.fromordinal(created).year))
            cid = str(case_id)
            cases.append([
                cid, None, scheme.value, status.value, str(applicant_id), assignee, creator,
                self.iso(received), _NULL if status == S.DRAFT else policy.version, favourable,
                business_plan, programme, employer, post, salary, relevance, local, flag, flag,
                submitted_at, review_at, approved_on, visa_on, refused_at, withdrawn_at,
                ended_at, created_at, last_at, "1", arrived_on, stay_ends_on][:self.width])

            events.append((cid, created_at, creator, "created", _NULL, _NULL, "draft", _NULL,
                           _NULL))
            if status != S.DRAFT:
                step, before = _LAST_STEP[status]
                if status == S.REFUSED and review_at == _NULL:
                    before = S.SUBMITTED
                elif status == S.LAPSED and arrived:
                    before = S.IN_STAY
                reasons = _REASONS.get(step)
                events.append((cid, last_at, creator, "transition", step, before.value,
                               status.value, pick(reasons) if reasons else _NULL, _NULL))

            if not assg and r() < 0.22:
                spouse = self.person(nationality, received, between(25, 50), hkid_share=0.05)
                dependants.append((cid, "spouse", _NULL, created_at, creator, *spouse))
                for _ in range(int(r() * 3)):
                    child = self.person(nationality, received, between(2, 16), family=family)
                    dependants.append((cid, "child", "f", created_at, creator, *child))
        return applicants, cases, events, dependants, keys


def _reserve_references(counts: Counter) -> dict[tuple[Scheme, int], int]:
    """Take a block of reference numbers per (scheme, year); return each block's first number.

    The same atomic ``UPDATE ... SET last = last + n RETURNING last`` the service uses, so a
    case created while (or after) the load runs can never collide with a bulk reference.
    """
    dialect = db.session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first: dict[tuple[Scheme, int], int] = {}
    for (scheme, year), n in sorted(counts.items()):
        bump = (update(ReferenceCounter)
                .where(ReferenceCounter.scheme == scheme, ReferenceCounter.year == year)
                .values(last=ReferenceCounter.last + n)
                .returning(ReferenceCounter.last))
        last = db.session.execute(bump).scalar()
        if last is None:
            db.session.execute(make_insert(ReferenceCounter)
                               .values(scheme=scheme, year=year, last=0)
                               .on_conflict_do_nothing())
            last = db.session.execute(bump).scalar()
        first[(scheme, year)] = last - n + 1
    return first


class _PostgresSink:
    """COPY (text format) into PostgreSQL on the session's own connection: one transaction.

    The four tables are locked against other writers (readers carry on) for the load, so a
    block of ids can be taken from each sequence in one statement.
    """

    def __init__(self) -> None:
        self.conn = db.session.connection().connection.driver_connection
        self.conn.execute("LOCK TABLE applicants, cases, case_events, dependants "
                          "IN SHARE ROW EXCLUSIVE MODE")

    def ids(self, table: str, n: int) -> range:
        row = self.conn.execute(
            "SELECT setval(s, nextval(s) + %s - 1) FROM pg_get_serial_sequence(%s, 'id') s",
            (n, table)).fetchone()
        return range(row[0] - n + 1, row[0] + 1)

    def write_text(self, table: str, columns: Sequence[str], data: str) -> None:
        if not data:
            return
        with self.conn.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data.encode())


def _lines(rows: Iterable[Sequence[str]]) -> str:
    text_ = "\n".join(map("\t".join, rows))
    return text_ + "\n" if text_ else ""


def _from_text(column) -> Callable[[str], object]:
    """How to turn one COPY text field back into a Python value for ``column``."""
    python_type = column.type.python_type if not hasattr(column.type, "impl") else (
        column.type.impl.python_type)
    if python_type is bool:
        return lambda v: v == "t"
    if python_type is int:
        return int
    if python_type is datetime:
        return datetime.fromisoformat
    if python_type is date:
        return date.fromisoformat
    if python_type is Decimal:
        return Decimal
    return str


class _CoreSink:
    """Chunked Core ``executemany`` for SQLite (and any other database), from the same rows."""

    def __init__(self) -> None:
        self.next_id = {
            name: (db.session.scalar(select(func.max(model.id))) or 0) + 1
            for name, model in (("applicants", Applicant), ("cases", Case))}
        self.tables = {m.__tablename__: m.__table__
                       for m in (Applicant, Case, CaseEvent, Dependant)}

    def ids(self, table: str, n: int) -> range:
        start = self.next_id[table]
        self.next_id[table] = start + n
        return range(start, start + n)

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if not rows:
            return
        target = self.tables[table]
        convert = [(name, _from_text(target.c[name])) for name in columns]
        params = [{name: None if value == _NULL else to(value)
                   for (name, to), value in zip(convert, row, strict=True)} for row in rows]
        db.session.execute(insert(target), params)


def _deferrable_schema(tables: Sequence[str]) -> tuple[list[str], list[str]]:
    """The DDL to drop and to re-create the non-unique indexes and the foreign keys of
    ``tables``: the PostgreSQL manual's advice for populating a database ("Remove Indexes",
    "Remove Foreign Key Constraints"). Unique indexes and CHECK constraints stay, so they are
    checked as rows arrive; re-adding a foreign key validates every row in one pass.
    """
    conn = db.session.connection().connection.driver_connection
    indexes = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) "
        "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 1", (list(tables),)).fetchall()
    foreign_keys = conn.execute(
        "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) AND c.contype = 'f' "
        "ORDER BY 1, 2", (list(tables),)).fetchall()
    drop = [f'ALTER TABLE {t} DROP CONSTRAINT "{name}"' for t, name, _ in foreign_keys]
    drop += [f'DROP INDEX "{name}"' for name, _ in indexes]
    create = [definition for _, definition in indexes]
    create += [f'ALTER TABLE {t} ADD CONSTRAINT "{name}" {definition}'
               for t, name, definition in foreign_keys]
    return drop, create


_TABLES = ("applicants", "cases", "case_events", "dependants")
# Fork where there is one: the generator process must not re-run the caller's script (spawn
# would, and a script without a __main__ guard would then wait on this load's locks).
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _chunk_rows(seed: int, number: int, today: date, workers: Sequence[int],
                applicant_ids: range, case_ids: range, serial: int):
    """The rows of chunk ``number``: its own random stream, so any process can make it."""
    rng = random.Random(f"{seed}:{number}")  # noqa: S311  (reproducible data, not secrets)
    return _BulkGenerator(rng, today, workers).chunk(applicant_ids, case_ids, serial)


def _chunk_text(args) -> tuple[str, list[str], str, str, list]:
    """A chunk rendered for COPY: applicants, case lines without their id and reference,
    events, dependants, and the (scheme, year) of each case. Runs in a worker process."""
    applicants, cases, events, dependants, keys = _chunk_rows(*args)
    tails = ["\t".join(row[2:]) for row in cases]
    return _lines(applicants), tails, _lines(events), _lines(dependants), keys


def _number(keys: Sequence[tuple[Scheme, int]]) -> list[str]:
    """Reference for each case of a chunk, from blocks reserved in ``reference_counters``."""
    first = _reserve_references(Counter(keys))
    references = []
    for key in keys:
        number = first[key]
        first[key] = number + 1
        references.append(f"{key[0].value}-{key[1]}-{number:06d}")
    return references


def bulk_load_cases(n: int, workers: Sequence[int], *, seed: int = DEMO_SEED,
                    chunk_size: int = 20_000, today: date | None = None,
                    fast_ddl: bool | None = None, processes: int | None = None,
                    progress: Callable[[str], None] | None = None) -> BulkResult:
    """Load ``n`` synthetic cases, with their applicants, events and some dependants.

    ``workers`` are the user ids cases are assigned to. Everything happens in the session's
    transaction; the caller commits. On PostgreSQL the rows go by COPY; for big loads
    (``fast_ddl``, default n >= 200,000) the non-unique indexes and foreign keys of the four
    tables are dropped and re-created in the same transaction (several times faster than
    checking them row by row, and all-or-nothing), and the rows are generated in
    ``processes`` worker processes (default: one per spare core) while this one sends them.
    Elsewhere the rows go by chunked executemany. The same ``seed`` gives the same rows.
    """
    if n <= 0:
        return BulkResult()
    if not workers:
        raise ValueError("bulk_load_cases needs at least one caseworker to assign cases to")
    say = progress or (lambda _message: None)
    started = clock.perf_counter()
    today = today or hk_today()
    workers = list(workers)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    big = n >= 200_000
    result = BulkResult()
    # A serial that keeps bulk applicants' emails unique across runs.
    serial = db.session.scalar(select(func.count()).select_from(Applicant)) or 0
    sizes = [min(chunk_size, n - start) for start in range(0, n, chunk_size)]
    if not postgres:
        sink = _CoreSink()
        for number, size in enumerate(sizes):
            rows = _chunk_rows(seed, number, today, workers, sink.ids("applicants", size),
                               sink.ids("cases", size), serial + number * chunk_size)
            applicants, cases, events, dependants, keys = rows
            for row, reference in zip(cases, _number(keys), strict=True):
                row[1] = reference
            for table, columns, table_rows in (
                    ("applicants", APPLICANT_COLUMNS, applicants),
                    ("cases", case_columns(), cases), ("case_events", EVENT_COLUMNS, events),
                    ("dependants", DEPENDANT_COLUMNS, dependants)):
                sink.write(table, columns, table_rows)
            result.add(len(applicants), len(cases), len(events), len(dependants))
            say(result.progress(n, started))
        db.session.flush()
        result.seconds = clock.perf_counter() - started
        return result

    sink = _PostgresSink()
    drop, create = _deferrable_schema(_TABLES) if (big if fast_ddl is None else fast_ddl) \
        else ([], [])
    for statement in drop:
        db.session.execute(text(statement))
    if drop:
        say(f"dropped {len(drop)} non-unique indexes and foreign keys; re-created at the end")
    jobs = [(seed, number, today, workers, sink.ids("applicants", size),
             sink.ids("cases", size), serial + number * chunk_size)
            for number, size in enumerate(sizes)]
    processes = processes if processes is not None else (
        max(1, (os.cpu_count() or 1) - 1) if big else 0)
    pool = multiprocessing.get_context(_START_METHOD).Pool(processes) if processes else None
    try:
        chunks = pool.imap(_chunk_text, jobs) if pool else map(_chunk_text, jobs)
        for job, (applicants, tails, events, dependants, keys) in zip(jobs, chunks,
                                                                       strict=True):
            case_ids = job[5]
            cases = "".join(f"{case_id}\t{reference}\t{tail}\n" for case_id, reference, tail
                            in zip(case_ids, _number(keys), tails, strict=True))
            sink.write_text("applicants", APPLICANT_COLUMNS, applicants)
            sink.write_text("cases", case_columns(), cases)
            sink.write_text("case_events", EVENT_COLUMNS, events)
            sink.write_text("dependants", DEPENDANT_COLUMNS, dependants)
            result.add(len(case_ids), len(case_ids), events.count("\n"),
                       dependants.count("\n"))
            say(result.progress(n, started))
    finally:
        if pool:
            pool.terminate()
    if create:
        rebuild = clock.perf_counter()
        db.session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in create:
            db.session.execute(text(statement))
        say(f"re-created {len(create)} indexes and foreign keys in "
            f"{clock.perf_counter() - rebuild:,.1f} s")
    result.seconds = clock.perf_counter() - started
    return result


def analyze(tables: Iterable[str] = ("applicants", "cases", "case_events", "dependants",
                                     "reference_counters", "users")) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; a no-op elsewhere)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(f"ANALYZE {table}"))


# --- Rows derived from bulk cases ------------------------------------------------------------

def derive_bulk_rows(supervisor_id: int, today: date | None = None) -> dict[str, int]:
    """Fill in what the services would have written for bulk-loaded cases, set-based.

    The stay's policy values, the open deadlines of cases in their stay, and the QMAS quota:
    one period per approval year (limit 4,000 or the count, if higher) and an active
    allocation for every case that holds a place, with ``allocated`` equal to those rows.
    Only rows still missing are written, so it is safe to run after every load.
    """
    today = today or hk_today()
    now = utcnow()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    counts: dict[str, int] = {}
    stay_statuses = ("in_stay", "extension_requested", "extended")

    counts["stays"] = 0
    for scheme in Scheme:
        policy = policy_for(scheme, today)
        counts["stays"] += db.session.execute(text("""
            UPDATE cases SET stay_initial_months = :initial, stay_extension_months = :extension,
                   extension_window_days = :window, job_offer_needed_to_extend = :job_offer,
                   extensions_granted = CASE WHEN status = 'extended' THEN 1 ELSE 0 END
            WHERE scheme = :scheme AND arrived_on IS NOT NULL AND stay_initial_months IS NULL
        """), {"initial": policy.initial_stay_months, "extension": policy.extension_months,
               "window": policy.extension_window_days,
               "job_offer": policy.job_offer_needed_to_extend, "scheme": scheme.value}).rowcount

    window_opens = ("c.stay_ends_on - c.extension_window_days" if postgres else
                    "date(c.stay_ends_on, '-' || c.extension_window_days || ' days')")
    in_stay = "c.status IN ('" + "', '".join(stay_statuses) + "')"
    counts["deadlines"] = 0
    for kind, due, extra in (
            ("stay_end", "c.stay_ends_on", ""),
            ("extension_window", window_opens, ""),
            ("job_offer", "c.stay_ends_on",
             "AND c.job_offer_needed_to_extend AND c.extensions_granted = 0 "
             "AND NOT EXISTS (SELECT 1 FROM job_offers j WHERE j.case_id = c.id)")):
        counts["deadlines"] += db.session.execute(text(f"""
            INSERT INTO deadlines (case_id, kind, due_on, state, created_at)
            SELECT c.id, '{kind}', {due}, 'open', :now FROM cases c
            WHERE {in_stay} AND NOT EXISTS (SELECT 1 FROM deadlines d WHERE d.case_id = c.id
                  AND d.kind = '{kind}' AND d.state = 'open') {extra}
        """), {"now": now}).rowcount

    year = ("CAST(EXTRACT(YEAR FROM c.approved_on) AS INTEGER)" if postgres else
            "CAST(strftime('%Y', c.approved_on) AS INTEGER)")
    holds_place = ("c.scheme = 'QMAS' AND c.approved_on IS NOT NULL AND (c.status IN ("
                   "'approved', 'visa_issued', 'in_stay', 'extension_requested', 'extended') "
                   "OR (c.status IN ('lapsed', 'closed') AND c.arrived_on IS NOT NULL))")
    # Approvals are stamped at 10:00 Hong Kong time (02:00 UTC) on their approval date.
    approved_at = ("CAST(c.approved_on + TIME '02:00' AS TIMESTAMP) AT TIME ZONE 'UTC'"
                   if postgres else "c.approved_on || ' 02:00:00.000000'")
    db.session.execute(text(f"""
        INSERT INTO quota_periods (scheme, year, quota_limit, allocated, set_by_id, set_at)
        SELECT DISTINCT 'QMAS', {year}, 4000, 0, :supervisor, :now FROM cases c
        WHERE {holds_place} AND {year} NOT IN (SELECT year FROM quota_periods
                                               WHERE scheme = 'QMAS')
    """), {"supervisor": supervisor_id, "now": now})
    counts["allocations"] = db.session.execute(text(f"""
        INSERT INTO quota_allocations (period_id, case_id, nationality, allocated_at,
                                       allocated_on, allocated_by_id)
        SELECT p.id, c.id, a.nationality, {approved_at}, c.approved_on, c.assignee_id
        FROM cases c
        JOIN applicants a ON a.id = c.applicant_id
        JOIN quota_periods p ON p.scheme = 'QMAS' AND p.year = {year}
        WHERE {holds_place} AND NOT EXISTS (SELECT 1 FROM quota_allocations a
                                            WHERE a.case_id = c.id AND a.released_at IS NULL)
    """), {"now": now}).rowcount
    # The year's limit is QMAS's 4,000 unless more places are already held; then the count
    # of active allocations is written, so the dashboard equals the rows.
    greatest = "GREATEST" if postgres else "MAX"
    held = ("(SELECT count(*) FROM quota_allocations a "
            "WHERE a.period_id = quota_periods.id AND a.released_at IS NULL)")
    db.session.execute(text(f"""
        UPDATE quota_periods SET quota_limit = {greatest}(quota_limit, {held})
        WHERE scheme = 'QMAS' AND quota_limit IS NOT NULL
    """))
    db.session.execute(text(f"UPDATE quota_periods SET allocated = {held} "
                            "WHERE scheme = 'QMAS'"))
    db.session.flush()
    return counts
