extension SimUniverse {
    /// The facts behind ``SimUniverse/instruments``, one name a line: `TICKER|name|reference price
    /// in USD|relative activity`. Prices approximate each name's level around mid-2025 (June 2025),
    /// rounded, written from general knowledge: plausible, not a price source. Activity is a
    /// relative weight of how busy the name trades (the most traded ETFs and megacaps near 1000,
    /// quiet names near 10); the simulator splits `--rate` by it.
    static let table = """
    SPY|SPDR S&P 500 ETF Trust|600.00|1000
    NVDA|NVIDIA Corporation|150.00|960
    TSLA|Tesla, Inc.|320.00|920
    AAPL|Apple Inc.|200.00|880
    AMD|Advanced Micro Devices, Inc.|140.00|800
    AMZN|Amazon.com, Inc.|215.00|780
    QQQ|Invesco QQQ Trust|530.00|760
    MSFT|Microsoft Corporation|480.00|740
    META|Meta Platforms, Inc.|700.00|700
    PLTR|Palantir Technologies Inc.|140.00|680
    GOOGL|Alphabet Inc. Class A|175.00|600
    AVGO|Broadcom Inc.|260.00|560
    IWM|iShares Russell 2000 ETF|215.00|540
    SMCI|Super Micro Computer, Inc.|45.00|500
    COIN|Coinbase Global, Inc.|350.00|480
    MSTR|Strategy Inc|400.00|470
    INTC|Intel Corporation|22.00|460
    TQQQ|ProShares UltraPro QQQ|80.00|450
    SOXL|Direxion Daily Semiconductor Bull 3X Shares|22.00|440
    MU|Micron Technology, Inc.|120.00|420
    NFLX|Netflix, Inc.|1250.00|400
    HOOD|Robinhood Markets, Inc.|90.00|400
    GOOG|Alphabet Inc. Class C|177.00|380
    BAC|Bank of America Corporation|46.00|370
    F|Ford Motor Company|11.00|360
    SQQQ|ProShares UltraPro Short QQQ|22.00|350
    JPM|JPMorgan Chase & Co.|280.00|340
    UBER|Uber Technologies, Inc.|92.00|330
    SOFI|SoFi Technologies, Inc.|18.00|320
    MARA|MARA Holdings, Inc.|16.00|310
    ARM|Arm Holdings plc|150.00|300
    TSM|Taiwan Semiconductor Manufacturing Company Limited|220.00|300
    CRWV|CoreWeave, Inc.|150.00|290
    APP|AppLovin Corporation|350.00|280
    LLY|Eli Lilly and Company|780.00|270
    ORCL|Oracle Corporation|210.00|270
    BABA|Alibaba Group Holding Limited|115.00|260
    XOM|Exxon Mobil Corporation|108.00|260
    RIVN|Rivian Automotive, Inc.|14.00|250
    PFE|Pfizer Inc.|24.00|250
    WMT|Walmart Inc.|97.00|250
    T|AT&T Inc.|28.00|240
    UNH|UnitedHealth Group Incorporated|310.00|240
    CSCO|Cisco Systems, Inc.|67.00|230
    GME|GameStop Corp.|23.00|230
    V|Visa Inc.|355.00|220
    WFC|Wells Fargo & Company|80.00|220
    C|Citigroup Inc.|85.00|210
    BA|The Boeing Company|210.00|210
    NIO|NIO Inc.|3.50|210
    LCID|Lucid Group, Inc.|2.30|200
    RIOT|Riot Platforms, Inc.|11.00|200
    IONQ|IonQ, Inc.|40.00|200
    RGTI|Rigetti Computing, Inc.|12.00|190
    QBTS|D-Wave Quantum Inc.|17.00|180
    SOUN|SoundHound AI, Inc.|10.00|180
    CRM|Salesforce, Inc.|270.00|180
    PYPL|PayPal Holdings, Inc.|72.00|180
    DIS|The Walt Disney Company|122.00|180
    KO|The Coca-Cola Company|70.00|170
    QCOM|QUALCOMM Incorporated|155.00|170
    SHOP|Shopify Inc.|110.00|170
    MRVL|Marvell Technology, Inc.|70.00|170
    XLF|Financial Select Sector SPDR Fund|51.00|170
    TLT|iShares 20+ Year Treasury Bond ETF|86.00|170
    GLD|SPDR Gold Shares|310.00|160
    HYG|iShares iBoxx $ High Yield Corporate Bond ETF|80.00|150
    EEM|iShares MSCI Emerging Markets ETF|47.00|150
    SMH|VanEck Semiconductor ETF|260.00|150
    XLE|Energy Select Sector SPDR Fund|86.00|140
    SLV|iShares Silver Trust|33.00|140
    UVXY|ProShares Ultra VIX Short-Term Futures ETF|20.00|140
    CVX|Chevron Corporation|145.00|140
    ADBE|Adobe Inc.|385.00|140
    MA|Mastercard Incorporated|570.00|140
    AFRM|Affirm Holdings, Inc.|65.00|140
    CVNA|Carvana Co.|320.00|140
    DELL|Dell Technologies Inc.|120.00|140
    NKE|NIKE, Inc.|62.00|140
    SNAP|Snap Inc.|8.50|140
    COST|Costco Wholesale Corporation|1000.00|130
    HD|The Home Depot, Inc.|365.00|130
    PG|The Procter & Gamble Company|160.00|130
    JNJ|Johnson & Johnson|155.00|130
    ABBV|AbbVie Inc.|185.00|120
    MRK|Merck & Co., Inc.|80.00|120
    VZ|Verizon Communications Inc.|43.00|120
    CMCSA|Comcast Corporation|35.00|120
    AMAT|Applied Materials, Inc.|175.00|120
    CRWD|CrowdStrike Holdings, Inc.|490.00|120
    PDD|PDD Holdings Inc.|105.00|120
    GM|General Motors Company|50.00|120
    NU|Nu Holdings Ltd.|12.00|120
    DKNG|DraftKings Inc.|42.00|110
    XYZ|Block, Inc.|65.00|110
    AAL|American Airlines Group Inc.|11.50|110
    CCL|Carnival Corporation & plc|25.00|110
    UPST|Upstart Holdings, Inc.|60.00|110
    HIMS|Hims & Hers Health, Inc.|55.00|110
    RDDT|Reddit, Inc.|150.00|110
    IBM|International Business Machines Corporation|290.00|100
    GS|The Goldman Sachs Group, Inc.|700.00|100
    MS|Morgan Stanley|140.00|100
    BRK.B|Berkshire Hathaway Inc. Class B|490.00|100
    PEP|PepsiCo, Inc.|132.00|100
    MCD|McDonald's Corporation|295.00|100
    SBUX|Starbucks Corporation|92.00|100
    ABNB|Airbnb, Inc.|135.00|100
    PANW|Palo Alto Networks, Inc.|200.00|100
    SNOW|Snowflake Inc.|220.00|100
    NOW|ServiceNow, Inc.|1000.00|90
    AI|C3.ai, Inc.|25.00|90
    BBAI|BigBear.ai Holdings, Inc.|5.00|90
    TXN|Texas Instruments Incorporated|200.00|90
    LRCX|Lam Research Corporation|95.00|90
    ON|ON Semiconductor Corporation|52.00|90
    OXY|Occidental Petroleum Corporation|43.00|90
    SLB|Schlumberger Limited|34.00|90
    FCX|Freeport-McMoRan Inc.|42.00|90
    DAL|Delta Air Lines, Inc.|50.00|90
    UAL|United Airlines Holdings, Inc.|80.00|90
    KRE|SPDR S&P Regional Banking ETF|58.00|90
    XBI|SPDR S&P Biotech ETF|83.00|90
    DIA|SPDR Dow Jones Industrial Average ETF Trust|425.00|80
    XLK|Technology Select Sector SPDR Fund|245.00|80
    GDX|VanEck Gold Miners ETF|50.00|80
    FXI|iShares China Large-Cap ETF|37.00|80
    EWZ|iShares MSCI Brazil ETF|28.00|80
    VXX|iPath Series B S&P 500 VIX Short-Term Futures ETN|45.00|80
    ARKK|ARK Innovation ETF|65.00|80
    USO|United States Oil Fund|75.00|70
    EFA|iShares MSCI EAFE ETF|88.00|70
    LQD|iShares iBoxx $ Investment Grade Corporate Bond ETF|108.00|70
    VOO|Vanguard S&P 500 ETF|550.00|70
    VTI|Vanguard Total Stock Market ETF|295.00|60
    XLV|Health Care Select Sector SPDR Fund|134.00|60
    XLY|Consumer Discretionary Select Sector SPDR Fund|215.00|60
    XLI|Industrial Select Sector SPDR Fund|145.00|60
    XLP|Consumer Staples Select Sector SPDR Fund|81.00|50
    XLU|Utilities Select Sector SPDR Fund|82.00|50
    ROKU|Roku, Inc.|85.00|80
    PINS|Pinterest, Inc.|35.00|80
    LYFT|Lyft, Inc.|15.00|80
    DASH|DoorDash, Inc.|245.00|80
    SPOT|Spotify Technology S.A.|750.00|80
    NET|Cloudflare, Inc.|190.00|80
    DDOG|Datadog, Inc.|130.00|80
    MDB|MongoDB, Inc.|210.00|70
    ZS|Zscaler, Inc.|300.00|60
    RBLX|Roblox Corporation|95.00|80
    U|Unity Software Inc.|23.00|70
    PATH|UiPath Inc.|13.00|70
    XPEV|XPeng Inc.|19.00|80
    LI|Li Auto Inc.|26.00|70
    JD|JD.com, Inc.|33.00|80
    BIDU|Baidu, Inc.|85.00|70
    MELI|MercadoLibre, Inc.|2400.00|50
    SE|Sea Limited|160.00|60
    GRAB|Grab Holdings Limited|5.00|70
    CPNG|Coupang, Inc.|29.00|60
    FUTU|Futu Holdings Limited|110.00|50
    TCOM|Trip.com Group Limited|60.00|40
    BILI|Bilibili Inc.|20.00|40
    TME|Tencent Music Entertainment Group|17.00|40
    NTES|NetEase, Inc.|130.00|30
    BEKE|KE Holdings Inc.|18.00|30
    YUMC|Yum China Holdings, Inc.|45.00|30
    ZTO|ZTO Express (Cayman) Inc.|19.00|25
    VIPS|Vipshop Holdings Limited|15.00|25
    ASML|ASML Holding N.V.|770.00|60
    SAP|SAP SE|300.00|40
    SONY|Sony Group Corporation|25.00|40
    TM|Toyota Motor Corporation|175.00|30
    HMC|Honda Motor Co., Ltd.|29.00|25
    STLA|Stellantis N.V.|10.00|50
    NOK|Nokia Oyj|5.20|60
    ERIC|Telefonaktiebolaget LM Ericsson|8.50|40
    NVO|Novo Nordisk A/S|70.00|80
    AZN|AstraZeneca PLC|72.00|50
    GSK|GSK plc|38.00|40
    NVS|Novartis AG|115.00|30
    SNY|Sanofi|48.00|30
    UL|Unilever PLC|62.00|30
    SHEL|Shell plc|70.00|40
    BP|BP p.l.c.|30.00|50
    TTE|TotalEnergies SE|61.00|30
    PBR|Petroleo Brasileiro S.A. - Petrobras|12.50|60
    VALE|Vale S.A.|9.50|70
    RIO|Rio Tinto Group|60.00|30
    BHP|BHP Group Limited|48.00|30
    HSBC|HSBC Holdings plc|60.00|30
    UBS|UBS Group AG|32.00|30
    DB|Deutsche Bank Aktiengesellschaft|28.00|25
    BCS|Barclays PLC|18.00|25
    ING|ING Groep N.V.|21.00|20
    SAN|Banco Santander, S.A.|8.00|40
    BBVA|Banco Bilbao Vizcaya Argentaria, S.A.|15.00|25
    MUFG|Mitsubishi UFJ Financial Group, Inc.|13.70|30
    HDB|HDFC Bank Limited|75.00|30
    IBN|ICICI Bank Limited|33.00|25
    INFY|Infosys Limited|18.00|40
    WIT|Wipro Limited|3.00|25
    TD|The Toronto-Dominion Bank|72.00|30
    RY|Royal Bank of Canada|130.00|25
    BNS|The Bank of Nova Scotia|54.00|20
    BMO|Bank of Montreal|110.00|15
    ENB|Enbridge Inc.|45.00|30
    CNQ|Canadian Natural Resources Limited|31.00|30
    SU|Suncor Energy Inc.|38.00|25
    CP|Canadian Pacific Kansas City Limited|80.00|25
    CNI|Canadian National Railway Company|105.00|20
    TRI|Thomson Reuters Corporation|200.00|15
    BN|Brookfield Corporation|60.00|20
    SCHW|The Charles Schwab Corporation|91.00|70
    BLK|BlackRock, Inc.|1030.00|30
    AXP|American Express Company|320.00|40
    COF|Capital One Financial Corporation|210.00|40
    USB|U.S. Bancorp|45.00|40
    PNC|The PNC Financial Services Group, Inc.|185.00|30
    TFC|Truist Financial Corporation|43.00|40
    BK|The Bank of New York Mellon Corporation|90.00|25
    SPGI|S&P Global Inc.|525.00|20
    MCO|Moody's Corporation|500.00|15
    ICE|Intercontinental Exchange, Inc.|180.00|20
    CME|CME Group Inc.|275.00|20
    AIG|American International Group, Inc.|85.00|30
    MET|MetLife, Inc.|80.00|30
    PRU|Prudential Financial, Inc.|107.00|20
    ALL|The Allstate Corporation|200.00|20
    PGR|The Progressive Corporation|265.00|25
    TRV|The Travelers Companies, Inc.|265.00|15
    CB|Chubb Limited|290.00|20
    KKR|KKR & Co. Inc.|130.00|40
    BX|Blackstone Inc.|150.00|40
    APO|Apollo Global Management, Inc.|140.00|30
    FI|Fiserv, Inc.|165.00|30
    FIS|Fidelity National Information Services, Inc.|80.00|25
    GPN|Global Payments Inc.|78.00|20
    ADP|Automatic Data Processing, Inc.|310.00|20
    PAYX|Paychex, Inc.|150.00|20
    BMY|Bristol-Myers Squibb Company|47.00|60
    AMGN|Amgen Inc.|285.00|40
    GILD|Gilead Sciences, Inc.|110.00|50
    REGN|Regeneron Pharmaceuticals, Inc.|550.00|30
    VRTX|Vertex Pharmaceuticals Incorporated|450.00|25
    MRNA|Moderna, Inc.|27.00|70
    BIIB|Biogen Inc.|125.00|20
    ISRG|Intuitive Surgical, Inc.|530.00|25
    ABT|Abbott Laboratories|135.00|40
    TMO|Thermo Fisher Scientific Inc.|410.00|25
    DHR|Danaher Corporation|195.00|25
    MDT|Medtronic plc|87.00|30
    SYK|Stryker Corporation|390.00|15
    BSX|Boston Scientific Corporation|105.00|30
    ZTS|Zoetis Inc.|155.00|20
    CVS|CVS Health Corporation|68.00|60
    CI|The Cigna Group|320.00|20
    HUM|Humana Inc.|240.00|20
    ELV|Elevance Health, Inc.|385.00|20
    HCA|HCA Healthcare, Inc.|380.00|15
    DXCM|DexCom, Inc.|85.00|30
    TEVA|Teva Pharmaceutical Industries Limited|17.00|40
    VTRS|Viatris Inc.|9.00|30
    MCK|McKesson Corporation|720.00|15
    CAH|Cardinal Health, Inc.|160.00|15
    IQV|IQVIA Holdings Inc.|155.00|15
    IDXX|IDEXX Laboratories, Inc.|520.00|10
    RMD|ResMed Inc.|250.00|10
    BDX|Becton, Dickinson and Company|175.00|15
    EW|Edwards Lifesciences Corporation|77.00|20
    ALGN|Align Technology, Inc.|190.00|10
    PODD|Insulet Corporation|310.00|10
    TMUS|T-Mobile US, Inc.|235.00|30
    CHTR|Charter Communications, Inc.|400.00|20
    WBD|Warner Bros. Discovery, Inc.|11.00|80
    PARA|Paramount Global|12.00|50
    FOXA|Fox Corporation|55.00|20
    LYV|Live Nation Entertainment, Inc.|145.00|15
    SIRI|Sirius XM Holdings Inc.|22.00|30
    EA|Electronic Arts Inc.|150.00|20
    TTWO|Take-Two Interactive Software, Inc.|230.00|20
    LOW|Lowe's Companies, Inc.|225.00|30
    TGT|Target Corporation|100.00|50
    DG|Dollar General Corporation|110.00|30
    DLTR|Dollar Tree, Inc.|100.00|30
    LULU|lululemon athletica inc.|240.00|40
    TJX|The TJX Companies, Inc.|125.00|30
    ROST|Ross Stores, Inc.|130.00|20
    YUM|Yum! Brands, Inc.|145.00|15
    CMG|Chipotle Mexican Grill, Inc.|50.00|60
    DPZ|Domino's Pizza, Inc.|460.00|10
    BKNG|Booking Holdings Inc.|5700.00|10
    MAR|Marriott International, Inc.|270.00|15
    HLT|Hilton Worldwide Holdings Inc.|265.00|15
    RCL|Royal Caribbean Cruises Ltd.|300.00|30
    NCLH|Norwegian Cruise Line Holdings Ltd.|20.00|50
    LUV|Southwest Airlines Co.|33.00|40
    JBLU|JetBlue Airways Corporation|4.50|40
    EXPE|Expedia Group, Inc.|170.00|20
    ETSY|Etsy, Inc.|55.00|30
    EBAY|eBay Inc.|75.00|30
    W|Wayfair Inc.|45.00|30
    CHWY|Chewy, Inc.|42.00|40
    BBY|Best Buy Co., Inc.|70.00|25
    KR|The Kroger Co.|68.00|30
    KHC|The Kraft Heinz Company|26.00|40
    GIS|General Mills, Inc.|53.00|25
    MDLZ|Mondelez International, Inc.|67.00|30
    HSY|The Hershey Company|170.00|15
    CL|Colgate-Palmolive Company|90.00|25
    KMB|Kimberly-Clark Corporation|130.00|15
    EL|The Estee Lauder Companies Inc.|80.00|30
    MO|Altria Group, Inc.|60.00|40
    PM|Philip Morris International Inc.|180.00|30
    STZ|Constellation Brands, Inc.|165.00|20
    TAP|Molson Coors Beverage Company|50.00|15
    MNST|Monster Beverage Corporation|62.00|25
    KDP|Keurig Dr Pepper Inc.|33.00|30
    CELH|Celsius Holdings, Inc.|45.00|40
    TSN|Tyson Foods, Inc.|56.00|20
    ADM|Archer-Daniels-Midland Company|52.00|25
    GAP|The Gap, Inc.|22.00|40
    ANF|Abercrombie & Fitch Co.|75.00|30
    M|Macy's, Inc.|12.00|40
    KSS|Kohl's Corporation|8.00|40
    AZO|AutoZone, Inc.|3700.00|10
    ORLY|O'Reilly Automotive, Inc.|90.00|20
    ULTA|Ulta Beauty, Inc.|470.00|15
    CAT|Caterpillar Inc.|370.00|40
    DE|Deere & Company|510.00|25
    GE|GE Aerospace|250.00|40
    GEV|GE Vernova Inc.|490.00|40
    HON|Honeywell International Inc.|230.00|30
    LMT|Lockheed Martin Corporation|470.00|25
    RTX|RTX Corporation|145.00|40
    NOC|Northrop Grumman Corporation|500.00|15
    GD|General Dynamics Corporation|290.00|15
    UPS|United Parcel Service, Inc.|100.00|40
    FDX|FedEx Corporation|225.00|30
    UNP|Union Pacific Corporation|230.00|25
    CSX|CSX Corporation|33.00|40
    NSC|Norfolk Southern Corporation|255.00|15
    MMM|3M Company|150.00|30
    EMR|Emerson Electric Co.|130.00|20
    ETN|Eaton Corporation plc|350.00|25
    ITW|Illinois Tool Works Inc.|250.00|15
    WM|Waste Management, Inc.|230.00|15
    RSG|Republic Services, Inc.|250.00|10
    URI|United Rentals, Inc.|750.00|10
    PH|Parker-Hannifin Corporation|690.00|10
    COP|ConocoPhillips|90.00|50
    HAL|Halliburton Company|21.00|50
    EOG|EOG Resources, Inc.|120.00|30
    PSX|Phillips 66|125.00|25
    MPC|Marathon Petroleum Corporation|165.00|25
    VLO|Valero Energy Corporation|135.00|25
    DVN|Devon Energy Corporation|33.00|40
    KMI|Kinder Morgan, Inc.|28.00|40
    WMB|The Williams Companies, Inc.|60.00|30
    OKE|ONEOK, Inc.|80.00|20
    FANG|Diamondback Energy, Inc.|140.00|20
    APA|APA Corporation|18.00|30
    ENPH|Enphase Energy, Inc.|40.00|50
    FSLR|First Solar, Inc.|165.00|40
    PLUG|Plug Power Inc.|1.20|90
    NEE|NextEra Energy, Inc.|72.00|50
    DUK|Duke Energy Corporation|117.00|25
    SO|The Southern Company|90.00|25
    D|Dominion Energy, Inc.|56.00|20
    AEP|American Electric Power Company, Inc.|103.00|15
    EXC|Exelon Corporation|43.00|20
    LIN|Linde plc|465.00|15
    APD|Air Products and Chemicals, Inc.|285.00|10
    SHW|The Sherwin-Williams Company|345.00|10
    NEM|Newmont Corporation|57.00|40
    DOW|Dow Inc.|27.00|30
    DD|DuPont de Nemours, Inc.|70.00|15
    NUE|Nucor Corporation|125.00|20
    AA|Alcoa Corporation|29.00|30
    CLF|Cleveland-Cliffs Inc.|7.50|50
    MOS|The Mosaic Company|36.00|20
    ALB|Albemarle Corporation|60.00|30
    PLD|Prologis, Inc.|108.00|20
    AMT|American Tower Corporation|215.00|15
    CCI|Crown Castle Inc.|100.00|15
    EQIX|Equinix, Inc.|780.00|10
    O|Realty Income Corporation|57.00|25
    SPG|Simon Property Group, Inc.|160.00|15
    PSA|Public Storage|295.00|10
    DLR|Digital Realty Trust, Inc.|175.00|15
    WELL|Welltower Inc.|150.00|15
    VICI|VICI Properties Inc.|32.00|25
    ACN|Accenture plc|300.00|25
    INTU|Intuit Inc.|760.00|20
    WDAY|Workday, Inc.|240.00|20
    TEAM|Atlassian Corporation|200.00|20
    ADSK|Autodesk, Inc.|300.00|15
    ANET|Arista Networks, Inc.|95.00|50
    FTNT|Fortinet, Inc.|105.00|30
    OKTA|Okta, Inc.|100.00|25
    TWLO|Twilio Inc.|120.00|25
    DOCU|DocuSign, Inc.|78.00|25
    ZM|Zoom Communications, Inc.|78.00|25
    CHKP|Check Point Software Technologies Ltd.|220.00|10
    AKAM|Akamai Technologies, Inc.|77.00|15
    CDNS|Cadence Design Systems, Inc.|300.00|15
    SNPS|Synopsys, Inc.|480.00|15
    KLAC|KLA Corporation|880.00|15
    ADI|Analog Devices, Inc.|235.00|20
    NXPI|NXP Semiconductors N.V.|210.00|20
    MCHP|Microchip Technology Incorporated|68.00|30
    STX|Seagate Technology Holdings plc|140.00|20
    WDC|Western Digital Corporation|60.00|30
    GFS|GlobalFoundries Inc.|38.00|20
    TER|Teradyne, Inc.|90.00|15
    ENTG|Entegris, Inc.|80.00|10
    SWKS|Skyworks Solutions, Inc.|72.00|15
    QRVO|Qorvo, Inc.|80.00|10
    HPQ|HP Inc.|25.00|40
    HPE|Hewlett Packard Enterprise Company|20.00|50
    MGM|MGM Resorts International|34.00|25
    WYNN|Wynn Resorts, Limited|90.00|20
    LVS|Las Vegas Sands Corp.|42.00|25
    CZR|Caesars Entertainment, Inc.|28.00|20
    PENN|PENN Entertainment, Inc.|17.00|20
    AMC|AMC Entertainment Holdings, Inc.|3.00|80
    PTON|Peloton Interactive, Inc.|7.00|40
    BYND|Beyond Meat, Inc.|3.00|30
    CTAS|Cintas Corporation|220.00|10
    TSCO|Tractor Supply Company|52.00|20
    JBHT|J.B. Hunt Transport Services, Inc.|140.00|10
    ODFL|Old Dominion Freight Line, Inc.|165.00|10
    """
}
