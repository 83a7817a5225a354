"""The curated bilingual lexicon behind :mod:`services.intake.classify`: data only, no logic.

Each entry is ``("spelling|spelling|…", weight)``. Spellings are matched case-insensitively on text
that is NFKC-normalised (full-width letters and punctuation become half-width) and folded from
Traditional to Simplified characters, and the spellings are folded the same way, so 預訂 and 预订
are one term: both are listed where a reader expects to see both, but one would do. A spelling
ending in ``*`` is a Latin prefix (``cancel*`` matches cancel, cancelled, cancellation). Latin
spellings match whole words only; Chinese spellings match anywhere. The longest spelling wins at a
position, so a longer phrase listed under another signal (取消政策, 我的預訂, cancel my complaint)
shadows the shorter term inside it. Vocabulary follows the venue's own documents (會議預訂, 投訴處理,
服務態度, 設備故障, 場地環境, 會議流程安排, 餐飲服務, 滿意度, 回訪) and how customers write in Hong Kong
(Cantonese: 唔該, 聽日, 冇, 咗), Taiwan and the mainland (亲, 麻烦, 咨询), and in English.

Weights: 1 a hint, 2 a clear sign, 3 a strong sign, 4 an explicit statement of the intent.
"""

from __future__ import annotations

Entry = tuple[str, float]

# -- booking: new bookings and changes to a booking (a reschedule is a booking change) --------------
BOOKING: tuple[Entry, ...] = (
    ("預訂|预订|預定|预定|預約|预约|訂位|订位|定位", 2),
    ("想訂|想订|想預訂|想预订|想預約|想预约|想定|要訂|要订|我要訂|訂一間|订一间|訂個|订个|訂間|订间", 3),
    ("幫我訂|帮我订|幫我們訂|帮我们订|幫忙訂|帮忙订|請幫我訂|替我訂|幫手訂|代訂|代订|訂一下|订一下", 4),
    ("訂房|订房|訂會議室|订会议室|訂場|订场|訂場地|订场地|訂廳|再訂|再订|加訂|加订|追加|續訂|续订", 3),
    ("預留|预留|保留|留返|留一間|留一间|鎖定|锁定|霸位|包場|包场", 3),
    ("租用|租借|借用|租場|租场|想租|要租", 3),
    ("麻煩安排|麻烦安排|請安排|请安排|幫我們安排|帮我们安排|幫忙安排|帮忙安排|安排一個|安排一个|替我們安排", 3),
    ("換大|换大|換一間|换一间|換個大|换个大|增加到|增至|加到|改為|人數改|人数改|加開|加开", 2),
    ("looking to hire|looking to book|looking for a venue|need a venue|need space|require a room|can i get", 3),
    ("could we get|can we get|bigger room|larger room|increase the number|increase to|arrange", 2),
    ("安排一間|安排一间|安排會議室|安排会议室|需要一間|需要一间|需要一個房|需要一个房|要一間房|要一间房", 3),
    ("開會|开会|舉辦|举办|舉行|举行|辦活動|办活动", 1),
    ("如果有的話|如果有的话|有的話|有的话|有就幫我|有就帮我", 2),
    ("加一部|加一個|加一个|加多|增加人數|增加人数|加人|加椅|加枱", 2),
    ("book|bok|booking request|make a booking|book a|book it|book the|book room|like to book|want to book", 3),
    ("reserve|reserving|like to reserve|room request|need a room|need a meeting room|get a room|need room", 3),
    ("hold the room|hold a room|be held for us|hire|rent|rent the|to rent", 2),
    ("confirm the reservation|confirm the booking|go ahead and|please add|add lunch|add coffee|extra chairs", 2),
    ("reservation|booking|meeting room|conference room|boardroom|room for|a room", 1),
    ("if so|if yes|if available|if it's available|if possible", 1),
)
RESCHEDULE: tuple[Entry, ...] = (
    ("改期|改時間|改时间|改日期|改到|改成|改為|改为|改去|改喺|調到|调到|換到|换到|換成|换成", 3),
    ("延期|推遲|推迟|順延|顺延|延後|延后|押後|押后|提前到|往後調|往后调|往後移|往后移|移到", 3),
    ("更改|變更|变更|更改預約|更改预约|更改時間|更改时间|更改預訂", 2),
    ("reschedul*|postpone*|rebook*|bring forward|move our|move the|move it|move to|change the date", 3),
    ("change the time|change of date|change of time|push back|push our|push it|push the|different date", 3),
    ("move|shift", 1),
)

# -- cancellation ----------------------------------------------------------------------------------
CANCELLATION: tuple[Entry, ...] = (
    ("取消|撤銷|撤销|作廢|作废|退訂|退订|退掉|退房|退場|退场", 3),
    ("請取消|请取消|幫我取消|帮我取消|幫手取消|要取消|想取消|需要取消|麻煩取消|麻烦取消|協助取消|协助取消", 4),
    ("一併取消|一并取消|直接取消|取消吧|取消好了|取消咗|取消了吧|全部取消|都要取消|帮忙取消|幫忙取消", 4),
    ("唔要|不要了|唔要喇|不需要了|用不著|用不着|用唔著|唔使留|不用留|不用預留|不用预留|不用再預留", 3),
    ("不開了|不开了|唔開|唔开|唔開喇|不辦了|不办了|唔搞|不搞了|開不成了|办不了", 3),
    ("cancel*|cancle*|cancell*|call off|called off|calling off|calls off", 3),
    ("please cancel|pls cancel|plz cancel|kindly cancel|like to cancel|want to cancel|need to cancel", 4),
    ("have to cancel|cancel it|cancel our|cancel my|cancel the", 4),
    ("won't need|will not need|no longer need|don't need|do not need|not need|can't make it|cannot make it", 3),
    ("release the room|release both|release our|drop the|remove our|remove the|is off|are off|not going ahead", 3),
    ("pull out|pulling out|pulled out|back out|backing out|withdraw from|no longer require|not proceeding", 3),
    ("釋放|释放|釋放掉|释放掉|唔使留|唔使留房|不用留房", 3),
    ("不需要那|不需要這|不需要这|唔需要嗰|唔使嗰|不需要房|不需要會議室|不需要会议室|不用房|不要那個房|不要那间", 3),
    ("postponed indefinitely|indefinitely|無限期|无限期|延期待定|延期再說|延期再说", 3),
    ("after all|anymore|any more", 1),
)

# -- complaints ------------------------------------------------------------------------------------
# The word itself: shadowed by a withdrawal (撤回投訴) and by negation (不是投訴).
COMPLAINT_META: tuple[Entry, ...] = (
    ("投訴|投诉|申訴|申诉|客訴|客诉|complain*|complaint*", 4),
    ("我要投訴|我要投诉|要投訴|要投诉|想投訴|想投诉|投訴你|投诉你|writing to complain|like to complain", 5),
)
# What went wrong, by complaint category (None: no category of its own).
COMPLAINT: dict[str | None, tuple[Entry, ...]] = {
    None: (
        ("不滿|不满|不滿意|不满意|不太滿意|不太满意|唔滿意|唔满意|好唔滿意|很不滿|非常不滿|非常不满", 3),
        ("失望|太失望|好失望|很失望|令人失望|disappoint*|not happy|unhappy|dissatisf*", 3),
        ("太差|很差|非常差|好差|極差|极差|差勁|差劲|差評|差评|太爛|太烂|好爛|垃圾|體驗差|体验差", 3),
        ("unacceptable|不可接受|無法接受|无法接受|接受不了|唔可以接受|不能接受|not acceptable", 4),
        ("離譜|离谱|太離譜|豈有此理|岂有此理|過分|过分|太過分|搞什麼|搞什么|搞乜|什麼服務|什么服务", 3),
        ("terrible|awful|horrible|worst|appalling|disgrace*|ridiculous|outrageous|shocking|a disaster", 3),
        ("not good enough|not acceptable|very poor|so poor|poor service|bad service|bad experience", 3),
        ("poor|bad|disaster", 2),
        ("賠償|赔偿|索賠|索赔|compensat*|退錢|退钱|refund*|退款", 1),
        ("給個說法|给个说法|給個交代|给个交代|誰來負責|谁来负责|誰負責|谁负责|怎麼把關|怎么把关|點解會|点解会", 3),
        ("加強管理|加强管理|請改善|请改善|要求主管|找你們主管|找你们主管|要求經理|call back from the manager", 2),
        ("we expect|investigation|explanation|escalate*|speak to a manager|speak to your manager", 2),
        ("嚴重影響|严重影响|影響我們|影响我们|影響會議|影响会议|浪費|浪费|wasted|waste of", 2),
        ("尷尬|尴尬|丟臉|丢脸|embarrass*", 2),
        ("失禮|失礼|丟架|丢架|沒面子|没面子|冇面", 2),
        ("嬲|好嬲|激氣|激气|氣死|气死|火大|生氣|生气|憤怒|愤怒|不爽|無語|无语|心淡|怎麼回事|怎么回事|搞咩", 3),
        ("let down|let us down|fell short|below expectations|below standard|not up to standard|frustrat*", 3),
        ("angry|furious|upset|annoy*|what happened|what's going on|not impressed", 2),
        ("灑|洒|打翻|弄髒|弄脏|spilled|spilt", 2),
        ("第二次了|第三次了|又一次|again and again|second time|third time|once again", 2),
        ("被迫取消|被迫延遲|被迫推迟|forced to cancel|had to be cancelled", 3),
        ("not what we expect|not what we expected|not what i expected|不如預期|不如预期|與預期不符|与预期不符", 3),
    ),
    "equipment_failure": (
        ("壞了|坏了|壞咗|坏咗|壞左|壞掉|坏掉|故障|失靈|失灵|死機|死机|黑屏|藍屏|蓝屏|閃屏|闪屏|花屏", 3),
        ("用不了|不能用|唔用得|無法使用|无法使用|無法顯示|无法显示|沒有畫面|没有画面|冇畫面|冇畫|開不了|开不了", 3),
        ("連不上|连不上|連唔到|连唔到|接不上|上不了網|上不了网|斷線|断线|掉線|掉线|斷網|断网|冇網|没网", 3),
        ("雜音|杂音|沒聲|没声|沒有聲音|没有声音|冇聲|冇声|聽不清|听不清|聽唔清|嘯叫|啸叫|回音|卡頓|卡顿", 3),
        ("沒電|没电|冇電|冇电|不亮|唔著|打不開|打不开|一直閃|一直闪|開不成會|开不成会", 2),
        ("broken|broke down|not working|didn't work|did not work|doesn't work|does not work|won't work", 3),
        ("stopped working|malfunction*|faulty|out of order|no sound|no signal|no picture|kept crashing", 3),
        ("couldn't connect|could not connect|can't connect|cannot connect|kept dropping|keeps dropping", 3),
        ("kept shutting down|shutting down|cutting out|cut out|kept cutting|flicker*|crash*|froze|frozen", 2),
        ("dead battery|out of battery|no batteries|glitch*", 2),
        ("kept freezing|keeps freezing|froze|out of sync|lagging|laggy|卡住|畫面卡|画面卡|聲畫不同步|声画不同步", 3),
        (
            "couldn't fix|could not fix|unable to fix|can't fix|修不好|修唔好|整唔好|producing feedback|audio feedback",
            3,
        ),
    ),
    "venue_environment": (
        ("太凍|太冻|好凍|好冻|太冷|好冷|很冷|冷得|凍死|冻死|太熱|太热|好熱|好热|很熱|悶熱|闷热|熱得|热得|焗", 3),
        ("很吵|太吵|好嘈|好吵|嘈吵|嘈音|噪音|電鑽|电钻|吵到|吵死", 3),
        ("髒|脏|好污糟|污糟|不乾淨|不干净|唔乾淨|衛生差|卫生差|沒人打掃|没人打扫|冇人清|沒人清|没人清", 3),
        ("臭|異味|异味|霉味|煙味|烟味|發霉|发霉|漏水|滴水|蟑螂|老鼠|蚊|坐不下|太擠|太挤|擁擠|拥挤|太暗", 3),
        ("too cold|freezing|too hot|stuffy|noisy|too noisy|noise|construction|dirty|filthy|smell*|stink*|leak*", 3),
        ("cockroach*|rats|mould|mold|cramped|overcrowded|too small|too dark|out of paper|no toilet paper", 3),
        ("停電|停电|跳掣|power cut|power outage|blackout|隔音差|隔音太差|聽得一清二楚|听得一清二楚|thin walls", 3),
    ),
    "service_attitude": (
        ("態度差|态度差|態度很差|态度很差|態度惡劣|态度恶劣|態度唔好|态度不好|態度不好|惡劣|恶劣", 4),
        ("愛理不理|爱理不理|不理睬|冇人理|沒人理|没人理|無人理|无人理|翻白眼|黑面|擺臭臉|摆臭脸|兇|罵|骂", 3),
        ("不耐煩|不耐烦|唔耐煩|沒禮貌|没礼貌|冇禮貌|無禮|无礼|不禮貌|不礼貌|不專業|不专业|唔專業|敷衍|推卸|推搪", 3),
        ("沒人接|没人接|冇人接|冇人聽|沒人聽|没人听|沒人回|没人回|冇人覆|沒人覆|沒有回覆|没有回复|未有回覆|不回覆", 3),
        ("收線|掛我電話|挂我电话|掛線|大聲聊天|大声聊天|玩手機|玩手机", 2),
        ("趕我們走|赶我们走|催我們走|催我们走|趕人|赶人|kicked us out|asked us to leave|started clearing", 3),
        ("沒有人來|没有人来|沒人來|没人来|冇人嚟|nobody came|no one came|nobody showed up|no one showed up", 3),
        ("連句道歉都沒有|连句道歉都没有|道歉都沒有|道歉都没有|no apology|didn't even apologi*|not even an apology", 4),
        ("rude*|impolite|unprofessional|unhelpful|arrogant|dismissive|hung up on|refused to help|yelled|shouted", 3),
        ("no reply|no response|no one answered|nobody answered|nobody picked up|no one picked up", 3),
        ("still no reply|still waiting for a reply|haven't heard back|never got back|ignored", 3),
    ),
    "meeting_arrangement": (
        ("混亂|混乱|一片混亂|搞錯|搞错|弄錯|弄错|印錯|印错|寫錯|写错|安排錯|安排错|錯房|错房|重複預訂|重复预订", 3),
        ("被佔用|被占用|被人佔|有人在用|另一班人|另一批人|別人在用|别人在用|沒有收到通知|没有收到通知|沒收到通知", 3),
        ("沒有準備好|没有准备好|未準備好|未准备好|沒人接待|没人接待|冇人接待|鎖著|锁着|鎖住|锁住|沒有佈置|没有布置", 3),
        ("等了|等咗|等左|遲到|迟到|延誤|延误|遲遲|迟迟|才有人|先有人|才到|遲了|迟了", 2),
        ("chaotic|chaos|disorganised|disorganized|mix-up|mixed up|double booked|double-booked|wrong room", 3),
        ("misspel*|old version|not ready|not set up|nobody warned|no one told|without notice|another group", 3),
        ("未擺好|未摆好|沒擺好|没摆好|未佈置好|未布置好|冇人擺|被安排到|被安排在|nobody knew|no one knew", 3),
        ("didn't know about|wasn't aware|no record of|had no record|wrong floor|different floors", 3),
        ("had to wait|kept waiting|we waited|waited|took 30 minutes|took ages|late|delay*|wrong", 2),
    ),
    "catering": (
        ("難吃|难吃|唔好食|不好吃|不新鮮|不新鲜|唔新鮮|過期|过期|變質|变质|餿|馊|凍咗|冷咗|冷了|凉了|涼了", 3),
        ("肚子痛|肚痛|拉肚子|食物中毒|吃壞|吃坏|沒飯吃|没饭吃|冇飯食|吃不飽|吃不饱|不夠吃|不够吃|漏送|送錯|送错", 3),
        ("不夠|不够|唔夠|少了|少咗|是冷的|是凉的|已經凍|不舒服", 1),
        ("stale|inedible|food poisoning|got sick|undercooked|cold food", 3),
        ("ran out|run out|arrived late|missing", 2),
    ),
}
# Nouns that tell a complaint's category; they give no intent on their own.
CATEGORY_HINTS: dict[str, str] = {
    "equipment_failure": (
        "投影|投影機|投影机|投影儀|投影仪|投影幕|螢幕|屏幕|熒幕|咪高峰|無線咪|无线咪|支咪|個咪|个咪|試咪|试咪|麥克風|麦克风|話筒|话筒|音響|音响|喇叭|"
        "視像|视像|視頻會議|视频会议|網絡|网络|無線網絡|电脑|電腦|遙控|遥控|翻頁筆|翻页笔|設備|设备|技術員|技术员|"
        "projector|screen|mic|mics|microphone*|audio|sound system|speakers|video conferenc*|video call|zoom|teams|"
        "wi-fi|wifi|internet|hdmi|laptop|clicker|equipment|technician|av|conference phone|display"
    ),
    "venue_environment": (
        "冷氣|冷气|空調|空调|溫度|温度|隔音|電力|电力|洗手間|洗手间|廁所|厕所|地毯|環境|环境|衛生|卫生|隔壁|裝修|装修|燈光|灯光|"
        "air-con|aircon|air con|air conditioning|temperature|toilet*|restroom*|washroom*|carpet|next door|lighting"
    ),
    "service_attitude": (
        "態度|态度|前台|接待員|接待员|職員|职员|員工|员工|服務員|服务员|保安|客服|工作人員|工作人员|經理|经理|"
        "attitude|reception|receptionist|staff|employee|agent|security guard|waiter|waitress|manager"
    ),
    "meeting_arrangement": (
        "安排|議程|议程|流程|名牌|資料|资料|簽到|签到|通知|佈置|布置|開門|开门|進場|进场|"
        "arrangement*|agenda|name badge*|badges|materials|registration|setup|set up|signage|schedule"
    ),
    "catering": (
        "餐|餐飲|餐饮|茶點|茶点|茶歇|午餐|午飯|午饭|便當|便当|盒飯|盒饭|三文治|咖啡|茶|水果|點心|点心|蛋糕|自助餐|"
        "食物|飲品|饮料|飯|饭|lunch|breakfast|dinner|sandwich*|coffee|tea|fruit|cake|buffet|food|catering|drinks|"
        "refreshment*|snack*|meal*"
    ),
}

# -- inquiries: questions and what customers ask about -----------------------------------------------
QUESTION: tuple[Entry, ...] = (  # summed, at most QUESTION_CAP in all
    ("?|嗎|吗|呢|咩|未呀|未啊|是否|可否|能否|有沒有|有没有|有冇|可不可以|可唔可以|能不能|會不會|会不会", 1),
    ("多少|幾多|几多|幾時|几时|什麼|什么|甚麼|點樣|点样|怎麼|怎么|怎樣|怎样|如何|哪裡|哪里|邊度|边度|哪個|哪个", 1),
    ("how|what|when|where|which|whether|does|do you|is there|are there|can i|can we|could you|would it", 1),
)
QUESTION_CAP = 3
INQUIRY: tuple[Entry, ...] = (
    ("請問|请问|想問|想问|想請問|想请问|問下|问下|問一下|问一下|想了解|想知道|了解一下|想確認|想确认|唔知|不知道", 2),
    ("查詢|查询|詢問|询问|咨詢|咨询|諮詢|諮询|打聽|打听|來電查詢|来电查询|來電詢問|来电询问|來電咨詢|来电咨询", 3),
    ("收費|收费|費用|费用|價錢|价钱|價格|价格|價位|价位|報價|报价|幾錢|几钱|多少錢|多少钱|價目|价目|扣費|扣费", 2),
    ("泊車|泊车|停車|停车|車位|车位|交通|地鐵|地铁|捷運|捷运|怎麼去|怎么去|點去|点去|地址|附近|走幾分鐘", 1),
    ("容納|容纳|坐幾多|坐多少|最多|多少人|幾多人|發票|发票|收據|收据|開票|开票|抬頭|抬头|報銷|报销", 1),
    ("營業|营业|開放時間|开放时间|幾點開|几点开|無障礙|无障碍|輪椅|轮椅|平面圖|平面图|wi-fi|wifi|密碼|密码", 1),
    ("政策|規定|规定|條款|条款|須知|须知|取消政策|退訂政策|退订政策|取消費|取消费|手續費|手续费|要提前多久", 3),
    ("有空|有冇空|有沒有空|有没有空|是否有空|空檔|空档|檔期|档期|有位|空房|還有空|还有空|還有位|还有位", 2),
    ("確認咗未|确认了吗|確認了嗎|確認了沒|确认了没|審核通過|审核通过|進度|进度|狀態|状态", 3),
    ("外燴|外烩|自帶|自带|提供|支持|包括|包含|漏低|遺留|遗留|遺失|遗失|執到|执到|拾到|失物", 1),
    ("enquir*|inquir*|wondering|i'd like to know|would like to know|could you tell|can you tell|let me know", 2),
    ("how much|price|prices|pricing|cost|costs|rate|rates|fee|fees|charge|quote|quotation|deposit", 2),
    ("cancellation policy|cancellation fee|cancellation charge|cancellation terms|policy|terms and conditions", 3),
    ("available|availability|free on|capacity|maximum|how many|floor plan|layout|parking|car park", 1),
    ("directions|station|address|located|opening hours|open on|wheelchair|step-free|accessible|invoice", 1),
    ("receipt|support|allow|provide|include|included|handed in|lost|left my|confirmed|status|deadline", 1),
    ("send me|can you send|is it possible|possible to|do i need|need to book in advance", 1),
)

# -- feedback: satisfaction, praise, ratings, suggestions -------------------------------------------
# Praise: negated (不是很滿意, not satisfied, not great) it speaks for a complaint instead.
PRAISE: tuple[Entry, ...] = (
    ("滿意|满意|很滿意|很满意|非常滿意|非常满意|好滿意|好满意|十分滿意|都很滿意|表示滿意|表示满意", 3),
    ("好評|好评|五星|5星|五顆星|點讚|点赞|讚|赞|表揚|表扬|稱讚|称赞|推薦|推荐|介紹朋友|介绍朋友", 3),
    ("順利|顺利|成功|專業|专业|貼心|贴心|周到|週到|熱情|热情|耐心|耐性|用心|細心|细心|負責|负责|到位", 2),
    ("辛苦了|辛苦晒|不錯|不错|很好|好好|非常好|很棒|好棒|做得好|好味|好吃|愉快|溫馨|温馨|井井有條|井井有条", 2),
    ("幫了大忙|帮了大忙|搞掂|搞定|好用|乾淨|干净|合理|性價比|性价比|還可以|还可以|挺好|不俗|有質感|有质感", 1),
    ("great|excellent|fantastic|amazing|wonderful|brilliant|superb|outstanding|impressed|lovely|perfect", 2),
    ("nice|nice one|easy to use|easier|user-friendly|convenient|loved|love|beautiful|方便|好方便|靚|漂亮|好靚", 2),
    ("smooth*|helpful|friendly|attentive|professional|well organised|well organized|well done|good job", 2),
    ("above and beyond|went well|all good|good experience|enjoyed|pleasure|would recommend|recommend*", 3),
    ("satisf*|appreciate*|much appreciated|compliment*|kudos|praise", 3),
)
FEEDBACK: tuple[Entry, ...] = (
    ("感謝|感谢|多謝|多谢|衷心感謝|特別感謝|特别感谢|非常感謝|非常感谢|感激", 2),
    ("謝謝|谢谢|唔該晒|唔该晒|thx|thanks|thank*|cheers", 1),
    ("下次還會|下次还会|下次再來|下次再来|還會再來|还会再来|再揀|再选|還找你們|还找你们|再次合作|會再來", 2),
    ("建議|建议|提個意見|提个意见|小建議|小建议|意見|意见|可以再|下次可以|會更好|会更好|希望能|反映一下", 2),
    ("評分|评分|打分|分數|分数|問卷|问卷|回訪|回访|評價|评价|滿意度|满意度", 2),
    ("suggest*|suggestion*|would help|might be worth|next time|could be improved|feedback|heads-up", 2),
    ("rating|rated|score|survey|out of 5|/5|/10|stars|fair price|good value|book again|come again", 2),
)

# -- other: out of scope for the desk -----------------------------------------------------------
OTHER: tuple[Entry, ...] = (
    ("招聘|求職|求职|應徵|应征|應聘|应聘|履歷|履历|簡歷|简历|職位|职位|一職|一职|獵頭|猎头|工作經驗|工作经验", 3),
    ("推廣|推广|廣告|广告|承接|誠邀|诚邀|合作機會|合作机会|洽詢合作|欢迎合作|歡迎合作|採購合作|采购合作", 3),
    ("贊助|赞助|銷售|销售|我司專業|我司专业|專業提供|专业提供|我們是專業|我们是专业", 3),
    ("休假中|不在辦公室|不在办公室|自動回覆|自动回复|自動回復|系統消息|系统消息|稍後回覆|稍后回复", 4),
    ("退訂短信|退订短信|退訂郵件|退订邮件|電子報|电子报|營銷短信|营销短信|名單中移除|名单中移除|取消訂閱|取消订阅", 4),
    ("打錯|打错|撥錯|拨错|誤撥|误拨|無應答|无应答|無人應答|无人应答|來電無聲|来电无声|已掛斷|已挂断", 4),
    ("測試|测试|test|testing", 2),
    ("在嗎|在吗|在不在|有人嗎|有人吗|anyone there", 3),
    ("恭喜發財|恭喜发财|新年快樂|新年快乐|聖誕快樂|圣诞快乐|中秋快樂|中秋快乐", 2),
    ("hiring manager|cv|vacancy|recruit*|headhunt*|job application", 3),
    ("job|position|resume", 2),
    ("seo|marketing|promotion|sponsor*|our services|leading provider|boost your|reply yes|partnership", 3),
    ("out of the office|out of office|auto-reply|autoreply|automatic reply|annual leave|on leave|limited access", 4),
    ("unsubscribe|mailing list|newsletter|wrong number|hung up", 3),
    ("happy new year|happy chinese new year|merry christmas|season's greetings", 2),
)
# Withdrawing a complaint: neither a new complaint nor a booking cancellation (classified ``other``;
# an agent closes the existing case). It also shadows the word 投訴/complaint in the same message.
WITHDRAW_COMPLAINT: tuple[Entry, ...] = (("撤訴|撤诉|投訴不用處理|投诉不用处理", 4),)
# …and a withdrawing verb followed closely (a few characters or words) by the complaint word:
# 撤回投訴, 取消我的投訴, "cancel my complaint", "withdraw the complaint I filed".
WITHDRAW_VERBS = "撤回|撤銷|撤销|取消|收回|cancel|withdraw|drop|retract|disregard|close"
# The same, but only where the message also names the complaint (撤回 alone may withdraw a booking).
WITHDRAW_HINTS: tuple[Entry, ...] = (
    ("撤回|結案|结案|不用處理了|不用处理了|唔使跟進|唔需要跟進|不用跟進|不用跟进|不需要跟進|不需要跟进", 3),
    ("已經處理好|已经处理好|已經解決|已经解决|解決咗|解决了", 2),
    ("withdraw*|retract*|disregard|close it|close the case|resolved on the day|already resolved", 3),
    ("been resolved|no longer an issue|misunderstanding", 2),
)

# -- neutral phrases: they consume text so that the shorter term inside them does not count ----------
NEUTRAL: tuple[str, ...] = (
    "訂單|订单|訂單號|订单号|預訂號|预订号|預約號|预约号|booking ref*|booking number|booking no|reference|ref",
    "我的預訂|我的预订|我嘅預訂|我們的預訂|我们的预订|我的預約|我的预约|原訂|原订|原本訂|原来订|原來訂|原定|原有預訂",
    "已預訂|已预订|預訂了|预订了|訂了|订了|訂咗|订咗|之前訂|之前订|明明預訂|明明预订|預訂的是|预订的是",
    "my booking|our booking|the booking|booking for|your booking|we booked|had booked|i booked|booked",
    "don't need to|do not need to|won't need to|no need to|not need to",
    "會議室預訂|会议室预订|預訂確認|预订确认|booking confirmation",
    "no problem|no worries|沒問題|没问题|冇問題",
)

# -- negation and contrast ---------------------------------------------------------------------------
# A term is negated when one of these stands at most a few characters (Chinese) or words (English)
# before it in the same clause: 不需要取消, 沒有不滿, 無需預訂, not complaining, don't cancel.
NEGATORS_ZH = (
    "不需要|不需|不用|不必|無需|无需|無須|无须|毋須|毋须|唔使|唔洗|唔需要|並非|并非|並不|并不|不是|唔係|"
    "沒有|没有|沒|没|冇|無|无|不要|唔好|別|别|勿|未|不|唔|非"
)
NEGATORS_EN = (
    "not|no|never|don't|dont|do not|does not|doesn't|didn't|did not|isn't|wasn't|aren't|won't|without|"
    "instead of|rather than|no need to|needn't|can't|cannot|nothing"
)
# Compounds that contain a negator character but do not negate what follows; removed before checking.
NOT_NEGATIONS = (
    "非常|不過|不过|不停|不斷|不断|不時|不时|不少|不但|不僅|不仅|不只|不錯|不错|不久|不同|不知|無論|无论|"
    "唔該|唔该|別的|别的|別人|别人|別處|别处|未來|未来|沒問題|没问题|不好意思|唔好意思|並且|并且"
)
# Contrast after politeness: 謝謝，但是… / thanks, but … — what follows is what the message is about.
CONTRAST = "但|但是|可是|不過|不过|然而|可惜|只是|but|however|although|though|unfortunately"
