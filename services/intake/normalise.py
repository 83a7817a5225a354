"""Normalisation of who wrote and in which language: plain functions, no I/O."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidIdentity(ValueError):
    pass


# Returning customers write again and again: the checks below are pure, so their answers for the
# most recent addresses and numbers are kept (in this process's memory only).
_RECENT = 4096


def normalise_email(raw: str | None) -> str | None:
    """Lower-cased, syntax-checked address (no DNS look-up); None if absent."""
    if raw is None or not raw.strip():
        return None
    result = _email(raw.strip())
    if isinstance(result, InvalidIdentity):
        raise InvalidIdentity(*result.args)
    return result


@lru_cache(maxsize=_RECENT)
def _email(text: str) -> str | InvalidIdentity:
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        return InvalidIdentity(f"not a valid email address: {exc}")


def normalise_phone(raw: str | None, default_region: str) -> str | None:
    """E.164 (``+85221234567``), reading national forms in ``default_region``; None if absent."""
    if raw is None or not raw.strip():
        return None
    result = _phone(raw.strip(), default_region)
    if isinstance(result, InvalidIdentity):
        raise InvalidIdentity(*result.args)
    return result


@lru_cache(maxsize=_RECENT)
def _phone(text: str, default_region: str) -> str | InvalidIdentity:
    # "00852 …" is ambiguous where 008 is itself an international prefix (Hong Kong): try the
    # national reading and the "+852" reading, and keep the one that is a valid number.
    attempts = [(text, default_region)]
    if text.startswith("00"):
        attempts.append(("+" + text[2:], None))
    error = "not a valid phone number"
    for candidate, region in attempts:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException as exc:
            error = f"not a phone number: {exc}"
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return InvalidIdentity(error)


# -- language ---------------------------------------------------------------------------------------
# Characters whose written form differs between Traditional and Simplified Chinese. Derived once from
# OpenCC's character tables (Apache-2.0; TSCharacters/STCharacters as shipped by
# opencc-python-reimplemented 0.1.7) and kept here as plain data, so there is no runtime dependency:
# - _TRAD_SIMP_PAIRS: each Traditional character (Big5 level 1, the frequently used half, plus a few
#   Hong Kong forms such as 裏 峯 綫 嗰) whose only conversion is another character, followed by
#   that Simplified character. Characters that are also ordinary Simplified text (乾 於 著 …)
#   are not keys: a Traditional key never appears in Simplified writing.
# - _SIMPLIFIED_ONLY: Simplified characters (GB 2312 level 1, the frequently used half) that
#   Traditional writing never uses: 们 会 预 订 … but not 后 台 里 干 周 面 只 几 据, which are also
#   Traditional characters.
_TRAD_SIMP_PAIRS = (
    "丟丢並并亂乱亙亘亞亚佇伫佈布佔占併并來来侖仑侶侣侷局係系俠侠倀伥倆俩倉仓個个們们倖幸倫伦偉伟側侧偵侦偽伪傑杰"
    "傖伧傘伞備备傢家傭佣傯偬傳传債债傷伤傾倾僅仅僑侨僕仆僞伪僥侥僱雇價价儀仪儂侬億亿儈侩儉俭儐傧儔俦儕侪儘尽償偿"
    "優优儲储儷俪儸㑩儻傥儼俨兇凶兌兑兒儿兗兖內内兩两冊册冑胄冪幂凍冻凜凛凱凯別别刪删則则剎刹剛刚剝剥剴剀創创剷铲"
    "劃划劇剧劉刘劊刽劍剑劑剂勁劲動动務务勛勋勝胜勞劳勢势勣𪟝勳勋勵励勸劝勻匀匯汇匱匮區区協协卹恤卻却卽即厭厌厲厉"
    "參参叢丛吳吴吶呐呂吕員员唸念問问啓启啞哑啟启喚唤喪丧喫吃喬乔單单喲哟嗆呛嗇啬嗎吗嗚呜嗰𠮶嗶哔嘆叹嘍喽嘔呕嘖啧"
    "嘗尝嘩哗嘮唠嘯啸嘰叽噓嘘噥哝噯嗳噴喷噸吨噹当嚀咛嚇吓嚐尝嚕噜嚥咽嚨咙嚮向嚴严嚶嘤囀啭囁嗫囂嚣囈呓囉啰囌苏囑嘱"
    "囪囱國国圍围園园圓圆圖图團团執执堅坚堊垩堝埚堯尧報报場场塊块塋茔塒埘塗涂塚冢塢坞塵尘塹堑墊垫墜坠墮堕墳坟墻墙"
    "墾垦壇坛壎埙壓压壘垒壙圹壞坏壟垄壢坜壩坝壯壮壺壶壽寿夠够夢梦夾夹奐奂奧奥奩奁奪夺奮奋妝妆姍姗姦奸娛娱婁娄婦妇"
    "媧娲媼媪媽妈嫗妪嫵妩嫻娴嬈娆嬋婵嬌娇嬤嬷嬪嫔嬰婴嬸婶孃娘孫孙學学孿孪宮宫寢寝實实寧宁審审寫写寬宽寵宠寶宝將将"
    "專专尋寻對对導导尷尴屆届屍尸屜屉屢屡層层屨屦屬属岡冈峯峰峴岘島岛峽峡崑昆崗岗崙仑崢峥嵐岚嶄崭嶇岖嶔嵚嶸嵘嶺岭"
    "嶼屿嶽岳巒峦巔巅巖岩帥帅師师帳帐帶带幀帧幃帏幗帼幟帜幣币幫帮幹干幾几庫库廁厕廂厢廄厩廈厦廚厨廝厮廟庙廠厂廢废"
    "廣广廬庐廳厅弒弑弔吊張张強强彆别彈弹彌弥彎弯彙汇彥彦彫雕彿佛後后徑径從从徠徕復复徹彻恆恒恥耻悅悦悵怅悶闷悽凄"
    "惡恶惱恼惻恻愛爱愜惬愴怆愷恺愾忾慄栗態态慍愠慘惨慚惭慟恸慣惯慫怂慮虑慶庆慼戚慾欲憂忧憊惫憐怜憑凭憚惮憤愤憫悯"
    "憮怃憲宪憶忆懇恳應应懍懔懣懑懲惩懶懒懷怀懸悬懺忏懼惧懾慑戀恋戰战戲戏戶户拋抛挾挟捨舍捫扪捲卷掃扫掄抡掙挣掛挂"
    "採采揀拣揚扬換换揮挥損损搖摇搗捣搶抢摑掴摟搂摯挚摻掺撈捞撐撑撓挠撥拨撫抚撲扑撳揿撻挞撾挝撿捡擁拥擄掳擇择擊击"
    "擋挡擔担據据擠挤擬拟擰拧擱搁擲掷擴扩擷撷擺摆擻擞擾扰攆撵攏拢攔拦攙搀攜携攝摄攣挛攤摊攪搅攬揽敗败敘叙敵敌數数"
    "斂敛斃毙斕斓斬斩斷断旣既昇升時时晉晋晝昼暈晕暉晖暘旸暢畅暫暂曄晔曆历曇昙曉晓曖暧曠旷曬晒書书會会朧胧朮术東东"
    "枴拐柵栅桿杆梔栀條条梟枭棄弃棗枣棟栋棧栈棲栖楊杨楓枫楨桢業业極极榦干榮荣構构槍枪槓杠槨椁槳桨樁桩樂乐樅枞樑梁"
    "樓楼標标樞枢樣样樸朴樹树樺桦橈桡橋桥機机橢椭橫横檔档檜桧檢检檣樯檮梼檯台檳槟檸柠檻槛櫃柜櫓橹櫚榈櫛栉櫝椟櫥橱"
    "櫬榇櫻樱欄栏權权欐𪲔欖榄欽钦歎叹歐欧歟欤歡欢歲岁歷历歸归歿殁殘残殤殇殮殓殯殡殲歼殺杀殼壳毀毁毆殴氈毡氣气氫氢"
    "氬氩氳氲氾泛汎泛汙污決决沒没沖冲況况洩泄洶汹浹浃涇泾涼凉淒凄淚泪淨净淪沦淵渊淺浅渙涣減减渦涡測测渾浑湊凑湧涌"
    "湯汤準准溝沟溫温溼湿滄沧滅灭滌涤滙汇滬沪滯滞滲渗滷卤滾滚滿满漁渔漢汉漣涟漬渍漲涨漸渐漿浆潑泼潔洁潛潜潤润潯浔"
    "潰溃澀涩澆浇澗涧澠渑澤泽澦滪澱淀濁浊濃浓濕湿濘泞濛蒙濟济濤涛濫滥濰潍濱滨濺溅濾滤瀆渎瀉泻瀋沈瀏浏瀕濒瀘泸瀝沥"
    "瀟潇瀨濑瀰弥瀲潋瀾澜灑洒灘滩灣湾灤滦災灾為为烏乌無无煉炼煙烟煥焕煩烦煬炀熒荧熱热熾炽燈灯燉炖燒烧燙烫燜焖營营"
    "燦灿燬毁燭烛燴烩燻熏燼烬燾焘爍烁爐炉爛烂爭争爲为爺爷爾尔牀床牆墙牘牍牽牵犖荦犛牦犢犊犧牺狀状狹狭狽狈猙狰猶犹"
    "獄狱獅狮獎奖獨独獰狞獲获獵猎獷犷獸兽獺獭獻献玀猡現现琺珐琿珲瑣琐瑤瑶瑩莹瑪玛璣玑璦瑷環环璽玺璿璇瓊琼瓏珑瓔璎"
    "瓚瓒甌瓯甕瓮產产甦苏畝亩畢毕畫画異异當当疇畴疊叠痙痉痠酸瘋疯瘍疡瘓痪瘡疮瘧疟瘺瘘療疗癆痨癒愈癘疠癟瘪癡痴癢痒"
    "癥症癩癞癬癣癮瘾癱瘫癲癫發发皚皑皰疱皺皱盃杯盜盗盞盏盡尽監监盤盘盧卢盪荡眞真眾众睏困睜睁睞睐瞞瞒瞼睑矇蒙矓眬"
    "矚瞩矯矫硃朱硯砚碩硕確确碼码磚砖磧碛磯矶礎础礙碍礦矿礪砺礫砾礬矾祕秘祿禄禍祸禎祯禦御禪禅禮礼禱祷禿秃秈籼稅税"
    "稈秆稜棱稟禀種种稱称穀谷穌稣積积穎颖穠秾穡穑穢秽穩稳穫获窩窝窪洼窮穷窯窑窺窥竄窜竅窍竇窦竈灶竊窃競竞筆笔筍笋"
    "筧笕箇个箋笺箏筝節节範范築筑篠筿篤笃篩筛簍篓簑蓑簞箪簡简簣篑簫箫簽签簾帘籃篮籌筹籟籁籠笼籤签籬篱籮箩籲吁粵粤"
    "糝糁糞粪糧粮糰团糾纠紀纪紂纣約约紅红紆纡紇纥紉纫紋纹納纳紐纽純纯紕纰紗纱紙纸級级紛纷紜纭紡纺紮扎細细紱绂紲绁"
    "紳绅紹绍紼绋絀绌終终絃弦組组絆绊結结絕绝絛绦絞绞絡络絢绚給给絨绒絰绖統统絲丝絳绛絹绢綁绑綉绣綏绥綑捆經经綜综"
    "綞缍綠绿綢绸綫线綬绶維维綰绾綱纲網网綴缀綵彩綸纶綺绮綻绽綽绰綾绫綿绵緇缁緊紧緒绪緘缄緙缂線线緝缉緞缎締缔緣缘"
    "編编緩缓緬缅緯纬緲缈練练緹缇緻致縈萦縉缙縊缢縐绉縑缣縛缚縝缜縞缟縣县縫缝縮缩縯𬙂縱纵縲缧縴纤縵缦縷缕縹缥總总"
    "績绩繃绷繅缫繆缪繈𫄶繒缯織织繕缮繚缭繞绕繡绣繩绳繪绘繫系繭茧繳缴繹绎繼继繽缤續续纏缠纓缨纔才纖纤纜缆缽钵罈坛"
    "罌罂罰罚罵骂罷罢羅罗羈羁羋芈羣群羨羡義义羶膻習习翹翘聖圣聞闻聯联聰聪聲声聳耸聶聂職职聽听聾聋肅肃脅胁脈脉脣唇"
    "脩修脫脱脹胀腎肾腦脑腫肿腳脚腸肠膚肤膠胶膩腻膽胆膾脍膿脓臉脸臍脐臏膑臘腊臚胪臟脏臢臜臥卧臨临臺台與与興兴舉举"
    "舊旧艙舱艦舰艱艰艷艳芻刍苧苎茲兹荊荆莊庄莖茎莢荚莧苋華华菴庵萇苌萊莱萬万萵莴葉叶葦苇葷荤蒐搜蒞莅蒼苍蓀荪蓆席"
    "蓋盖蓮莲蔔卜蔣蒋蔥葱蔭荫蕩荡蕪芜蕭萧薊蓟薑姜薔蔷薦荐薩萨薺荠藍蓝藝艺藥药藪薮藷𫉄藹蔼藺蔺蘆芦蘇苏蘊蕴蘋苹蘚藓"
    "蘭兰蘿萝處处虛虚虜虏號号虧亏蛻蜕蜆蚬蝕蚀蝦虾蝨虱蝸蜗螞蚂螢萤螻蝼蟈蝈蟬蝉蟯蛲蟲虫蟻蚁蠅蝇蠍蝎蠔蚝蠟蜡蠣蛎蠱蛊"
    "蠶蚕蠻蛮衆众術术衛卫衝冲袞衮裊袅裏里補补裝装裡里製制複复褲裤褸褛褻亵襖袄襠裆襤褴襪袜襬摆襯衬襲袭見见規规覓觅"
    "視视覦觎親亲覬觊覲觐覺觉覽览觀观觴觞觸触訂订訃讣計计訊讯訌讧討讨訏𬣙訐讦訑𫍙訓训訕讪訖讫託托記记訛讹訝讶訟讼"
    "訢䜣訣诀訥讷訪访設设許许訴诉訶诃診诊註注証证詁诂詆诋詐诈詔诏評评詖诐詛诅詞词詠咏詢询詣诣試试詩诗詫诧詬诟詭诡"
    "詮诠詰诘話话該该詳详詼诙誅诛誇夸誌志認认誑诳誕诞誘诱誚诮語语誠诚誡诫誣诬誤误誥诰誦诵誨诲說说誰谁課课誶谇誹诽"
    "誼谊調调諂谄諄谆談谈諉诿請请諍诤諒谅論论諛谀諜谍諦谛諧谐諫谏諭谕諮咨諱讳諳谙諶谌諷讽諸诸諺谚諼谖諾诺謀谋謁谒"
    "謂谓謄誊謊谎謎谜謐谧謗谤謙谦講讲謝谢謠谣謨谟謫谪謬谬謹谨譁哗譆𫍻證证譎谲譏讥識识譙谯譚谭譜谱譟噪譫谵譯译議议"
    "譴谴護护譽誉讀读變变讒谗讓让讖谶讚赞讜谠豈岂豎竖豐丰豔艳豬猪貓猫貝贝貞贞負负財财貢贡貧贫貨货販贩貪贪貫贯責责"
    "貯贮貲赀貳贰貴贵貶贬買买貸贷費费貼贴貽贻貿贸賀贺賁贲賂赂賃赁賄贿賅赅資资賈贾賊贼賑赈賒赊賓宾賜赐賞赏賠赔賡赓"
    "賢贤賣卖賤贱賦赋質质賬账賭赌賴赖賺赚賻赙購购賽赛贅赘贈赠贊赞贍赡贏赢贓赃贖赎贗赝贛赣趕赶趙赵趨趋跡迹踐践踴踊"
    "蹕跸蹟迹蹣蹒蹤踪蹺跷躂跶躉趸躊踌躋跻躍跃躑踯躓踬躡蹑躪躏軀躯車车軋轧軌轨軍军軏𫐄軒轩軔轫軛轭軟软軸轴軻轲軼轶"
    "軾轼較较載载輊轾輒辄輓挽輔辅輕轻輛辆輜辎輝辉輞辋輟辍輥辊輦辇輩辈輪轮輯辑輳辏輸输輻辐輾辗輿舆轂毂轄辖轅辕轉转"
    "轍辙轎轿轔辚轟轰轡辔辦办辭辞辮辫辯辩農农迴回逕迳這这連连週周進进遊游運运過过達达違违遙遥遜逊遞递遠远適适遲迟"
    "遷迁選选遺遗遼辽邁迈還还邇迩邊边邏逻邐逦郵邮鄉乡鄒邹鄧邓鄭郑鄰邻鄴邺酈郦醃腌醜丑醞酝醫医醬酱醱酦釀酿釁衅釅酽"
    "釋释釐厘釗钊釘钉釙钋針针釣钓釦扣釧钏釩钒釵钗鈇𫓧鈉钠鈍钝鈎钩鈐钤鈑钣鈔钞鈕钮鈞钧鈣钙鈴铃鈷钴鈸钹鈹铍鈽钸鈾铀"
    "鈿钿鉀钾鉅巨鉉铉鉋铇鉍铋鉑铂鉗钳鉚铆鉛铅鉤钩鉸铰鉻铬銀银銅铜銑铣銓铨銖铢銘铭銜衔銨铵銬铐銳锐銷销銹锈銻锑銼锉"
    "鋁铝鋅锌鋇钡鋒锋鋤锄鋪铺鋰锂鋸锯鋼钢錄录錐锥錕锟錘锤錙锱錚铮錠锭錡锜錢钱錦锦錨锚錫锡錮锢錯错錳锰錶表鍊炼鍋锅"
    "鍍镀鍔锷鍚钖鍛锻鍥锲鍬锹鍰锾鍵键鍾钟鎂镁鎊镑鎔镕鎖锁鎘镉鎚锤鎢钨鎬镐鎮镇鎰镒鎳镍鏃镞鏈链鏍镙鏑镝鏗铿鏘锵鏜镗"
    "鏝镘鏟铲鏡镜鏢镖鏤镂鏨錾鏽锈鐃铙鐘钟鐫镌鐮镰鐲镯鐳镭鐵铁鐸铎鐺铛鑄铸鑑鉴鑒鉴鑠铄鑣镳鑪𬬻鑰钥鑲镶鑷镊鑼锣鑽钻"
    "鑾銮鑿凿長长門门閂闩閃闪閉闭開开閎闳閏闰閑闲閒闲間间閔闵閘闸閡阂閣阁閤合閥阀閨闺閩闽閭闾閱阅閻阎闆板闈闱闊阔"
    "闋阕闌阑闐阗闔阖闕阙闖闯關关闡阐闢辟陘陉陝陕陞升陣阵陰阴陳陈陸陆陽阳隊队階阶隕陨際际隨随險险隱隐隴陇隸隶隻只"
    "雋隽雖虽雙双雛雏雜杂雞鸡離离難难雲云電电霑沾霧雾霽霁靂雳靄霭靈灵靜静靦腼靨靥鞏巩鞦秋韁缰韃鞑韆千韉鞯韋韦韌韧"
    "韓韩韜韬韻韵響响頁页頂顶頃顷項项順顺須须頊顼頌颂預预頑顽頒颁頓顿頗颇領领頜颌頡颉頤颐頫𫖯頭头頰颊頷颔頸颈頹颓"
    "頻频顆颗題题額额顎颚顏颜顓颛願愿顛颠類类顥颢顧顾顫颤顯显顰颦顱颅風风颯飒颱台颳刮颶飓颺飏颼飕飄飘飛飞飢饥飩饨"
    "飪饪飭饬飯饭飲饮飴饴飼饲飽饱飾饰餃饺餅饼餉饷養养餌饵餒馁餓饿餘余餚肴餛馄餞饯餡馅館馆餵喂餾馏餿馊饅馒饉馑饑饥"
    "饒饶饗飨饜餍饞馋馬马馭驭馮冯馱驮馳驰馴驯駁驳駐驻駑驽駒驹駕驾駙驸駛驶駝驼駟驷駢骈駭骇駱骆駿骏騁骋騎骑騖骛騙骗"
    "騫骞騰腾騵𫘪騷骚騾骡驀蓦驃骠驅驱驍骁驕骄驗验驚惊驛驿驟骤驢驴驥骥驪骊骯肮髏髅髒脏體体髖髋髮发鬆松鬍胡鬚须鬢鬓"
    "鬥斗鬧闹鬨哄鬱郁魎魉魘魇魚鱼魯鲁魷鱿鮑鲍鮪鲔鮫鲛鮭鲑鮮鲜鯀鲧鯉鲤鯊鲨鯖鲭鯛鲷鯧鲳鯨鲸鯽鲫鰍鳅鰓鳃鰥鳏鰭鳍鰱鲢"
    "鰻鳗鰾鳔鱉鳖鱔鳝鱖鳜鱗鳞鱟鲎鱷鳄鱸鲈鳥鸟鳩鸠鳳凤鳴鸣鳶鸢鴃𫛞鴆鸩鴉鸦鴒鸰鴕鸵鴛鸳鴣鸪鴦鸯鴨鸭鴻鸿鴿鸽鵑鹃鵝鹅"
    "鵠鹄鵡鹉鵪鹌鵬鹏鵲鹊鶉鹑鶯莺鶴鹤鷂鹞鷄鸡鷓鹧鷗鸥鷥鸶鷹鹰鷺鹭鸚鹦鸛鹳鸞鸾鹵卤鹹咸鹼碱鹽盐麗丽麥麦麩麸麪面麵面"
    "麼么黃黄黌黉點点黨党黴霉黷黩鼕冬鼴鼹齊齐齋斋齒齿齜龇齟龃齡龄齣出齦龈齧啮齪龊齬龉齲龋齷龌龍龙龐庞龔龚龜龟"
)
_SIMPLIFIED_ONLY = (
    "与专业丛东丝丢两严丧个临为丽举么义乌乐乔习乡书买乱争亏亚产亩亲亿仅从仑仓仪们众优会伞伟传伤伦伪体侠侣侥侦侧侨"
    "侩俩俭债倾偿储儿兑兰关兴兹养兽内冈册写军农冯冲决况冻净凉减凑凛凤凭凯击凿刘则刚创删别刹刽剂剐剑剥剧劝办务动励"
    "劲劳势勋匀区医华协单卖卢卤卧卫却厅历厉压厌厕厢厦厨厩县叁参双发变叙叠号叹吓吕吗吨听启吴呐呕员呛呜咏咙响哑哗哟"
    "唤啮啸喷嘘嘱嚣团园囱围国图圆圣场坏块坚坛坝坞坟坠垄垒垦垫堑堕墙壮声壳壶处备复够头夹夺奋奖奥妆妇妈娄娇娱婴婶孙"
    "学孪宁宝实宠审宪宫宽宾寝对寻导寿将尔尘尝尧尽层屉届属屡屿岁岂岗岛岭岿峡峦崭巩币帅师帐帜带帧帮幂庆庐库应庙庞废"
    "开异弃张弥弯弹强归当录彦彻径忆忧怀态怂怜总恋恒恳恶恼悦悬悯惊惧惨惩惫惭惮惯愤慑懒戏战户扑执扩扫扬扰抚抛抠抡抢"
    "护报担拟拢拣拥拦拧拨择挚挛挝挞挟挠挡挣挤挥捞损捡换捣掳掷掸掺揽搀搁搂搅携摄摆摇摈摊撑撵擞攒敌敛数斋斩断无旧时"
    "旷昼显晋晓晕暂术机杀杂权条来杨构枢枣枪枫柠栅标栈栋栏树样档桥桨桩梦检椭楼槛横樱橱欢欧歼残殴毁毕毙毡气氢汇汉汤"
    "汹沟没沤沥沦沧沪泪泻泼泽洁浅浆浇浊测济浑浓涛涝涟涡涣涤润涧涨涩渊渍渐渔渗温湾湿溃溅滚滞满滤滥滦滨滩潍潜澜濒灭"
    "灯灵灾灿炉点炼炽烁烂烃烛烟烦烧烩烫烬热焕爱爷牵牺犊状犹狈狞独狭狮狰狱猎猪猫献獭玛环现珐琐琼瑶电画畅畴疗疟疡疮"
    "疯痈痉痪瘪瘫癣皑皱盏盐监盖盗盘睁瞒瞩矫矾矿码砖砚砾础硕硷碍碱礼祷祸禄离秃秆积称秽税稳穷窃窍窑窜窝窥竖竞笋笔笺"
    "笼筛筹签简箩篓篮类粤粪粮紧纠红纤约级纪纫纬纯纱纲纳纵纶纷纸纹纺纽线练组绅细织终绊绍绎经绑绒结绕绘给绚络绝绞统"
    "绢绣绥绦继绩绪续绰绳维绵绷绸综绽绿缀缄缅缆缉缎缓缔缕编缘缚缝缠缨缩缮缴网罗罚罢羡翘耸耻聂聋职联聪肃肠肤肾肿胀"
    "胁胆胶脉脏脐脑脓脚脱脸腻腾舆舰舱艰艳艺节芜芦苇苍苏茎荆荚荡荣荤荧荫药莱莲获莹萝萤营萧萨葱蒋蓝蓟蔷蔼蕴虏虑虚虽"
    "虾蚀蚁蚂蚕蛊蛮蛰蜕蜗蝇蝉衅衔补衬袄袜袭装裤见观规觅视览觉触誉誊计订讣认讥讨让讫训议讯记讲讳讶许讹论讼讽设访诀"
    "证评诅识诈诉诊诌词译试诗诚诛话诞诡询诣该详诧诫诬语误诱诲说诵请诸诺读诽课谁调谅谆谈谊谋谍谎谐谓谗谚谜谢谣谤谦"
    "谨谩谬谭谰谱谴贝贞负贡财责贤败账货质贩贪贫贬购贮贯贰贱贴贵贷贸费贺贼贾贿赁赂赃资赊赋赌赎赏赐赔赖赘赚赛赞赠赡"
    "赢赣赵赶趋跃践踌踪蹿躯车轧轨轩转轮软轰轴轻载轿较辅辆辈辉辊辐辑输辕辖辗辙辞辩辫边辽达迁过迈运还这进远违连迟迹"
    "选逊递逻遗遥邓邮邹邻郑郧郸酝酱酿释鉴针钉钎钒钓钙钝钞钟钠钡钢钥钦钧钨钩钮钱钳钵钻钾铀铁铂铃铅铆铜铝铡铣铬铭铰"
    "铱铲银铸铺链销锁锄锅锈锋锌锐锑锗错锚锡锣锤锥锦锨锭键锯锰锹锻镀镁镇镊镍镐镑镜镣镭镰镶长门闪闭问闯闰闲间闷闸闹"
    "闺闻闽阀阁阂阅阉阎阐阑阔队阳阴阵阶际陆陇陈陕陨险随隐隶难雏雾静韦韧韩韵页顶顷项顺须顽顾顿颁颂预颅领颇颈颊颐频"
    "颓颖颗题颜额颠颤颧风飘飞饥饭饮饯饰饱饲饵饶饺饼饿馁馅馆馈馋馏馒马驭驮驯驰驱驳驴驶驹驻驼驾骂骄骆骇骋验骏骑骗骚"
    "骡骤鱼鲁鲍鲜鲤鲸鳃鳖鳞鸟鸡鸣鸥鸦鸭鸯鸳鸵鸽鸿鹃鹅鹊鹏鹤鹰麦黄齐齿龄龋龙龚龟"
)

TRAD_TO_SIMP: dict[str, str] = {
    _TRAD_SIMP_PAIRS[i]: _TRAD_SIMP_PAIRS[i + 1] for i in range(0, len(_TRAD_SIMP_PAIRS), 2)
}  # one Simplified form per Traditional-only character; also folds text for the intent classifier
_TRADITIONAL = frozenset(TRAD_TO_SIMP)
_SIMPLIFIED = frozenset(_SIMPLIFIED_ONLY)
_TRAD_RE = re.compile("[" + "".join(sorted(_TRADITIONAL)) + "]")
_SIMP_RE = re.compile("[" + "".join(sorted(_SIMPLIFIED)) + "]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA = re.compile(r"[\u3041-\u309f\u30a1-\u30fa\u31f0-\u31ff\uff66-\uff9d]")  # Japanese (not ー, shared)
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00ff\u0100-\u024f\uff21-\uff3a\uff41-\uff5a]")  # full-width too
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\uff21-\uff3a\uff41-\uff5a]+")
_LETTER = re.compile(r"[^\W\d_]")
# Words that make Chinese characters a sentence rather than a name or a room name quoted in English.
_CHINESE_GRAMMAR = re.compile(r"[我你您的了嗎吗呢吧請请想要是在有個个們们啲嘅咗唔係冇麻]")


def detect_language(text: str | None, *, default_chinese: str = "zh-Hant") -> str:
    """zh-Hant, zh-Hans, en or other.

    Chinese wins over Latin when it is a fair share of the text (mixed messages such as
    「我想book一間meeting room」 are Chinese), or when its characters form sentences (grammar words:
    我 的 了 嗎 …) next to an English signature; a Chinese name or room name in an English message
    stays English. Between the scripts the characters whose form differs decide (會/会, 預/预 …);
    text written the same in both (「你好」, 「取消」) gets ``default_chinese``. Japanese (kana) and
    Korean (Hangul) are ``other``; Latin text counts as English when Latin dominates the letters."""
    if not text:
        return "other"
    cjk = len(_CJK.findall(text))
    kana = len(_KANA.findall(text))
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = len(_LETTER.findall(text))
    if kana and kana * 4 >= cjk:  # Japanese: kanji with kana around them
        return "other"
    if hangul and hangul >= cjk and hangul * 2 >= latin:
        return "other"
    if cjk == 0:
        return "en" if latin >= 2 and latin * 2 > letters else "other"
    chinese = cjk * 3 >= latin or (
        cjk >= 4 and _CHINESE_GRAMMAR.search(text) is not None and cjk * 2 >= len(_LATIN_WORD.findall(text))
    )
    if not chinese:  # a Chinese name in an English message
        return "en"
    trad = len(_TRAD_RE.findall(text))
    simp = len(_SIMP_RE.findall(text))
    if trad > simp:
        return "zh-Hant"
    if simp > trad:
        return "zh-Hans"
    return default_chinese
